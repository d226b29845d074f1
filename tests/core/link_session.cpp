#define CAF_SUITE core.link_session
#include <caf/test/unit_test.hpp>

// The link session against transcripts: each line is an event and what the
// session answers to it, "event args -> answer". A line without "->"
// expects no answer. Time is a parameter (`at MS`), as in Broker's channel
// tests: no actor, no clock, no network.

#include "core/watcher/link_session.hpp"

#include <sstream>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using session = link_session;

struct driver {
  session::time_point t0{};
  session::time_point now{};
  std::unique_ptr<session> s;
  uint64_t barriers = 0;

  explicit driver(link_settings ls = small()) {
    s = std::make_unique<session>(ls, t0);
    now = t0;
  }

  static link_settings small() {
    link_settings ls;
    ls.window_bytes = 1000;
    ls.batch_bytes = 400;
    ls.batch_ops = 3;
    ls.zstd_level = 0; // payloads as they are, sizes as written
    ls.retry_min = 100ms;
    ls.retry_max = 400ms;
    return ls;
  }

  static std::string ms(std::chrono::nanoseconds d) {
    return std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(d).count())
           + "ms";
  }

  static std::string flushes(const std::vector<session::flush_answer>& xs) {
    std::string out;
    for (auto& f : xs)
      out += (out.empty() ? "flush " : ",") + std::to_string(f.id) + ":"
             + std::to_string(f.problems);
    return out;
  }

  static std::string join(std::string a, const std::string& b) {
    if (b.empty())
      return a;
    return a.empty() ? b : a + " " + b;
  }

  std::string ack_text(const session::ack_result& r) {
    std::string out;
    // A code other than the driver's default (io_error) is shown after a
    // slash; a delta fallback is marked.
    for (auto& x : r.refusals) {
      out = join(out, "refused " + x.kind_name() + ":" + x.path
                        + (x.second_path.empty() ? "" : ">" + x.second_path)
                        + (x.code == ec::io_error ? "" : "/" + to_string(x.code))
                        + (x.first_of_path ? "" : "(echo)")
                        + (x.fallback ? "(fallback)" : ""));
    }
    return join(out, flushes(r.flushes));
  }

  /// Runs one event; returns the session's answer.
  std::string run(const std::string& line) {
    std::istringstream in{line};
    std::string cmd;
    in >> cmd;
    if (cmd == "at") {
      int64_t t;
      in >> t;
      now = t0 + std::chrono::milliseconds{t};
      return "";
    }
    if (cmd == "connect")
      return s->start_connect() ? to_string(s->state()) : "ignored";
    if (cmd == "connected")
      return s->connected() ? "first" : "again";
    if (cmd == "connect_failed")
      return "retry " + ms(s->connect_failed(now, "refused"));
    if (cmd == "lose") {
      auto after = s->lose(now, "gone");
      return after ? "retry " + ms(*after) + " epoch "
                       + std::to_string(s->epoch())
                   : "ignored";
    }
    if (cmd == "reconcile") {
      s->begin_reconcile(now);
      return to_string(s->state());
    }
    if (cmd == "rescan") {
      s->rescan(now);
      return to_string(s->state());
    }
    if (cmd == "append") {
      // append PATH DATA_BYTES [rename|link TARGET | commit | copy]
      op o;
      size_t n = 0;
      std::string kind;
      in >> o.path >> n >> kind;
      o.kind = op_kind::write_file;
      if (kind == "rename" || kind == "link") {
        o.kind = kind == "rename" ? op_kind::rename : op_kind::link;
        in >> o.target;
      } else if (kind == "commit") {
        o.kind = op_kind::commit_file;
      } else if (kind == "copy") {
        o.kind = op_kind::copy_range;
      }
      o.data.assign(n, 'x');
      return s->append(std::move(o)) ? "full" : "";
    }
    if (cmd == "take") {
      auto out = s->take_batch();
      if (!out)
        return "nothing";
      auto& ops = std::get<std::vector<op>>(out->payload);
      return "seq " + std::to_string(out->seq) + " ops "
             + std::to_string(ops.size()) + " in_flight "
             + std::to_string(s->in_flight_bytes());
    }
    if (cmd == "ack") {
      // ack SEQ EPOCH [INDEX:PATH[:CODE] ...] (CODE: io_error if not given)
      uint64_t seq, epoch;
      in >> seq >> epoch;
      std::vector<op_error> errors;
      std::string e;
      while (in >> e) {
        auto colon = e.find(':');
        auto second = e.find(':', colon + 1);
        auto code = ec::io_error;
        if (second != std::string::npos) {
          auto named = ec_from_string(e.substr(second + 1));
          CAF_REQUIRE(named);
          code = *named;
        }
        errors.push_back({static_cast<uint32_t>(std::stoul(e.substr(0, colon))),
                          code, e.substr(colon + 1, second - colon - 1),
                          "no"});
      }
      auto r = s->acked(seq, epoch, errors, now);
      return r ? ack_text(*r) : "stale";
    }
    if (cmd == "settled") {
      int64_t first_ms;
      uint64_t barrier;
      in >> first_ms >> barrier;
      s->settled(first_ms * 1'000'000, barrier);
      return "";
    }
    if (cmd == "planned")
      return flushes(s->planned(now).flushes);
    if (cmd == "flush") {
      // Barriers are numbered outside (barrier_signal): 1, 2, ...
      auto id = ++barriers;
      return s->add_flush(id) ? "id " + std::to_string(id) : "refused";
    }
    if (cmd == "retry_later") {
      std::string p;
      in >> p;
      return s->retry_later(p) ? "arm" : "";
    }
    if (cmd == "retry_fired") {
      auto plan = s->retry_fired();
      if (plan.full_check)
        return "full";
      std::string out;
      for (auto& p : plan.paths)
        out = join(out, p);
      return out;
    }
    if (cmd == "done") {
      auto r = s->comparison_done(now);
      std::string out;
      switch (r.outcome) {
        case session::sync_outcome::not_done: out = "not-done"; break;
        case session::sync_outcome::incomplete:
          out = "incomplete " + std::to_string(r.round_errors)
                + (r.arm_retry ? " arm" : "");
          break;
        case session::sync_outcome::in_sync: out = "in-sync"; break;
      }
      return join(out, flushes(r.flushes));
    }
    if (cmd == "window")
      return s->window_open() ? "open" : "shut";
    if (cmd == "note") {
      // note CODE: the sender reports a refusal of class CODE.
      std::string name;
      in >> name;
      auto code = ec_from_string(name);
      CAF_REQUIRE(code);
      s->note_error(now, "op-failed " + name, *code);
      return "";
    }
    if (cmd == "last_error") {
      // The code status shows for the last error, and the fallbacks.
      watcher_status st;
      s->fill_status(st, now, false);
      return (st.last_error_code.empty() ? "none" : st.last_error_code)
             + " fallbacks " + std::to_string(st.counters.fallbacks);
    }
    if (cmd == "status") {
      watcher_status st;
      s->fill_status(st, now, false);
      return st.state + " errors " + std::to_string(st.counters.errors)
             + " samples " + std::to_string(st.latency_samples) + " p50 "
             + std::to_string(st.latency_p50_us / 1000) + "ms";
    }
    return "unknown event " + cmd;
  }

  /// Replays `text`; every answer must be the one written after "->".
  void replay(const std::string& text) {
    std::istringstream lines{text};
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      auto arrow = line.find("->");
      auto event = line.substr(0, arrow);
      auto want = arrow == std::string::npos ? "" : line.substr(arrow + 2);
      auto trim = [](std::string x) {
        auto b = x.find_first_not_of(' ');
        auto e = x.find_last_not_of(' ');
        return b == std::string::npos ? std::string{} : x.substr(b, e - b + 1);
      };
      event = trim(event);
      if (event.empty() || event[0] == '#')
        continue;
      auto got = run(event);
      if (got != trim(want))
        CAF_FAIL("line " << n << " '" << event << "': got '" << got
                         << "', want '" << trim(want) << "'");
    }
  }
};

} // namespace

CAF_TEST(a connect ends in sync once every batch is answered) {
  driver{}.replay(R"(
    connect            -> connecting
    connect            -> ignored
    connected          -> first
    reconcile          -> reconciling
    append a 100
    append b 100
    take               -> seq 1 ops 2 in_flight 330
    take               -> nothing
    done               -> not-done
    ack 1 0
    done               -> in-sync
    status             -> in-sync errors 0 samples 0 p50 0ms
  )");
}

CAF_TEST(a batch goes out when full by bytes or by operations) {
  driver{}.replay(R"(
    connect -> connecting
    reconcile -> reconciling
    append a 10
    append b 10
    append c 10        -> full
    take               -> seq 1 ops 3 in_flight 225
    append big 350     -> full
    take               -> seq 2 ops 1 in_flight 642
  )");
}

CAF_TEST(the window shuts at its bytes and opens with answers) {
  driver{}.replay(R"(
    connect -> connecting
    reconcile -> reconciling
    append a 300
    take               -> seq 1 ops 1 in_flight 365
    append b 300
    take               -> seq 2 ops 1 in_flight 730
    window             -> open
    append c 300
    window             -> shut
    ack 1 0
    window             -> open
  )");
}

CAF_TEST(answers of a lost link are stale and its backoff doubles) {
  driver{}.replay(R"(
    connect            -> connecting
    connect_failed     -> retry 100ms
    connect            -> connecting
    connect_failed     -> retry 200ms
    connect            -> connecting
    connected          -> first
    reconcile          -> reconciling
    append a 10
    take               -> seq 1 ops 1 in_flight 75
    lose               -> retry 100ms epoch 1
    lose               -> ignored
    ack 1 0            -> stale
    connect            -> connecting
    connected          -> again
    connect_failed     -> retry 200ms
    connect -> connecting
    connect_failed     -> retry 400ms
    connect -> connecting
    connect_failed     -> retry 400ms
  )");
}

CAF_TEST(refusals name the op kind and the second path once per path) {
  driver{}.replay(R"(
    connect -> connecting
    reconcile -> reconciling
    append x 10 rename y
    append big 0 commit
    take                 -> seq 1 ops 2 in_flight 143
    ack 1 0 0:x 1:big 1:big -> refused rename:x>y refused commit_file:big refused commit_file:big(echo)
    done                 -> incomplete 3 arm
    status               -> syncing errors 3 samples 0 p50 0ms
    retry_fired          -> full
    done                 -> in-sync
  )");
}

// The delta fallback follows the code: a copy source that was not what the
// watcher believed (stale), or an assembled file with the wrong hash; not
// the echo of a dropped transfer, nor a full disk, whatever the op kind.
CAF_TEST(a refused delta falls back by its code) {
  driver{}.replay(R"(
    connect -> connecting
    reconcile -> reconciling
    append a 0 copy
    append a 0 commit
    append b 0 commit    -> full
    take                 -> seq 1 ops 3 in_flight 195
    ack 1 0 0:a:stale 1:a:unknown_transfer 2:b:no_space -> refused copy_range:a/stale(fallback) refused commit_file:a/unknown_transfer(echo) refused commit_file:b/no_space
    last_error           -> none fallbacks 1
    note no_space
    last_error           -> no_space fallbacks 1
    append c 0 commit
    append d 0 rename e
    append f 0           -> full
    take                 -> seq 2 ops 3 in_flight 196
    ack 2 0 0:c:hash_mismatch 1:d:stale 2:f:hash_mismatch -> refused commit_file:c/hash_mismatch(fallback) refused rename:d>e/stale refused write_file:f/hash_mismatch
    last_error           -> no_space fallbacks 2
    lose                 -> retry 100ms epoch 1
    last_error           -> none fallbacks 2
  )");
}

CAF_TEST(a flush completes when the batch holding its barrier is answered) {
  driver{}.replay(R"(
    connect -> connecting
    reconcile -> reconciling
    done                 -> in-sync
    flush                -> id 1
    at 10
    settled 10 1
    append a 10
    take                 -> seq 1 ops 1 in_flight 75
    planned
    at 13
    ack 1 0 0:a          -> refused write_file:a flush 1:1
    status               -> in-sync errors 1 samples 1 p50 3ms
  )");
}

CAF_TEST(a barrier settled while unlinked waits for the next full comparison) {
  driver{}.replay(R"(
    flush                -> id 1
    settled 0 1
    planned
    connect -> connecting
    reconcile -> reconciling
    planned
    done                 -> in-sync flush 1:0
  )");
}

CAF_TEST(refused paths wait for one retry timer) {
  driver{}.replay(R"(
    retry_later a        -> arm
    retry_later b
    retry_fired          -> a b
    retry_fired
    retry_later c        -> arm
  )");
}

CAF_TEST(flushes waiting at once are bounded) {
  driver d;
  for (size_t i = 1; i <= max_pending_flushes; ++i)
    CAF_CHECK_EQUAL(d.run("flush"), "id " + std::to_string(i));
  CAF_CHECK_EQUAL(d.run("flush"), "refused");
  // A later barrier completes every earlier flush.
  CAF_CHECK_EQUAL(d.run("settled 0 5"), "");
  d.run("connect");
  d.run("reconcile");
  auto answers = d.s->planned(d.now).flushes;
  CAF_CHECK_EQUAL(answers.size(), 0u); // Unlinked: waits for the comparison.
  CAF_CHECK_EQUAL(d.run("done"), "in-sync flush 1:0,2:0,3:0,4:0,5:0");
}

CAF_TEST(a packed batch starts a new zstd stream on each link) {
  auto ls = driver::small();
  ls.zstd_level = 3;
  link_session s{ls, {}};
  s.start_connect();
  s.begin_reconcile({});
  op o;
  o.kind = op_kind::write_file;
  o.path = "a";
  o.data.assign(100, 'a');
  s.append(o);
  auto first = s.take_batch();
  CAF_REQUIRE(first);
  CAF_REQUIRE(std::holds_alternative<packed_batch>(first->payload));
  CAF_CHECK_EQUAL(std::get<packed_batch>(first->payload).seq, 0u);
  s.append(o);
  auto second = s.take_batch();
  CAF_CHECK_EQUAL(std::get<packed_batch>(second->payload).seq, 1u);
  s.lose({}, "gone");
  s.start_connect();
  s.begin_reconcile({});
  s.append(o);
  auto again = s.take_batch();
  CAF_CHECK_EQUAL(again->epoch, 1u);
  CAF_CHECK_EQUAL(std::get<packed_batch>(again->payload).seq, 0u);
}

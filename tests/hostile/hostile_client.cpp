// livesync-hostile-client: attacks a running livesync-reference over the
// real network (plain BASP, the reference must run with --insecure) through
// the receiver's own typed interface, and prints one line per attack with
// the refusals it got. Driven by tests/e2e/tests_security.py, which checks
// the disk and the reference's log afterwards.
//
//   livesync-hostile-client --port=N --outside=DIR --reference-root=DIR
//                           [--host=H] [--timeout=SECONDS] [--flood-ops=N]
//                           [--attacks=NAME,...]
//
// --outside is a directory beyond the reference root that the attacks try
// to reach (symlinks point there, absolute paths name it). The client runs
// on the reference's host: --reference-root lets it swap a directory the
// reference just created for a symlink to --outside between two requests.
//
// Output (stdout), one line per attack:
//   attack=NAME ops=N refused=K expect=ok|MISMATCH ms=T refusals=[I:REASON|...]
// (attacks that are not one batch say what they sent instead: batches=N
// for packed batches, requests=N results=[WHAT:answered|WHAT:refused,..]
// for read requests, stranger=... for a batch of an actor without hello),
// then `summary attacks=.. mismatches=.. refused_ops=.. batch_refusals=..
// request_errors=..`. Every expectation is about the reply only; whether
// the disk stayed clean is the test's business.
//
// Exit codes: 0 ran to the end (every request got a reply, mismatches or
// not: see the summary), 1 could not connect or hello failed, 2 usage,
// 3 ran to the end but some request failed (timeout, lost connection).
#include "core/wire/batch_codec.hpp"
#include "core/wire/content_hash.hpp"
#include "core/wire/tree_listing.hpp"
#include "messages/actors.hpp"
#include "messages/register.hpp"

#include <caf/io/all.hpp>
#include <xxhash.h>
#include <zstd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

/// The watcher identity this client claims in its hellos.
const std::string hostile_identity = "hostile-client:/nowhere";

} // namespace

namespace {

// -- options ---------------------------------------------------------------------

struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string outside;
  std::string reference_root;
  int timeout_s = 120;
  uint64_t flood_ops = 1'000'000;
  /// Attacks to run (empty: every default one). Later attacks may build on
  /// what earlier ones left (the symlink `a`, the swapped `d`).
  std::set<std::string> only;

  bool selected(const std::string& name) const {
    if (only.empty())
      return name != "log_injection"
             && name != "log_injection_reads"; // run only when named
    return only.count(name) != 0;
  }
};

[[noreturn]] void usage(const std::string& msg) {
  std::cerr << "livesync-hostile-client: " << msg
            << "\nusage: livesync-hostile-client --port=N --outside=DIR "
               "--reference-root=DIR [--host=H] [--timeout=SECONDS] "
               "[--flood-ops=N] [--attacks=NAME,...]\n";
  std::exit(2);
}

uint64_t parse_uint(const std::string& key, const std::string& v,
                    uint64_t max) {
  char* end = nullptr;
  errno = 0;
  auto x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x > max)
    usage("bad value for --" + key + ": '" + v + "'");
  return x;
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos)
      usage("unexpected argument '" + a + "'");
    auto key = a.substr(2, eq - 2);
    auto val = a.substr(eq + 1);
    if (key == "host")
      o.host = val;
    else if (key == "port")
      o.port = static_cast<uint16_t>(parse_uint(key, val, 65535));
    else if (key == "outside")
      o.outside = val;
    else if (key == "reference-root")
      o.reference_root = val;
    else if (key == "timeout")
      o.timeout_s = static_cast<int>(parse_uint(key, val, 86400));
    else if (key == "flood-ops")
      o.flood_ops = parse_uint(key, val, 100'000'000);
    else if (key == "attacks") {
      std::stringstream ss{val};
      for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty())
          o.only.insert(name);
    }
    else
      usage("unknown option --" + key);
  }
  if (o.port == 0)
    usage("--port is required");
  if (o.outside.empty() || o.outside[0] != '/')
    usage("--outside=ABSOLUTE_DIR is required");
  if (o.reference_root.empty())
    usage("--reference-root is required");
  return o;
}

// -- building ops ----------------------------------------------------------------

constexpr int64_t some_mtime = 1'600'000'000'000'000'000;

op write_op(std::string path, const std::string& content,
            uint32_t mode = 0644) {
  op o;
  o.kind = op_kind::write_file;
  o.path = std::move(path);
  o.data.assign(content.begin(), content.end());
  o.size = o.data.size();
  o.mode = mode;
  o.mtime_ns = some_mtime;
  o.hash = hash_bytes(o.data.data(), o.data.size());
  return o;
}

op simple(op_kind kind, std::string path, std::string target = {},
          uint32_t mode = 0755) {
  op o;
  o.kind = kind;
  o.path = std::move(path);
  o.target = std::move(target);
  o.mode = mode;
  return o;
}

/// A hard link `path` to `source`, claiming the size and mtime write_op
/// gives a file of `size` bytes.
op link_op(std::string path, std::string source, uint64_t size) {
  op o = simple(op_kind::link, std::move(path), std::move(source), 0644);
  o.size = size;
  o.mtime_ns = some_mtime;
  return o;
}

op begin_op(std::string path, uint64_t xfer, uint64_t size) {
  op o = simple(op_kind::begin_file, std::move(path), {}, 0644);
  o.xfer = xfer;
  o.size = size;
  o.mtime_ns = some_mtime;
  return o;
}

op chunk_op(uint64_t xfer, uint64_t offset, size_t bytes) {
  op o;
  o.kind = op_kind::chunk;
  o.xfer = xfer;
  o.offset = offset;
  o.data.assign(bytes, 'c');
  return o;
}

/// Appends to transfer `xfer` the `size` bytes at `offset` of the
/// reference's file `source` ("" = the transfer's own path).
op copy_op(uint64_t xfer, std::string source, uint64_t offset, uint64_t size) {
  op o;
  o.kind = op_kind::copy_range;
  o.xfer = xfer;
  o.target = std::move(source);
  o.offset = offset;
  o.size = size;
  return o;
}

/// `n` zero bytes as one zstd frame; `with_size` false leaves the content
/// size out of the frame header (a bomb that does not announce itself).
std::vector<char> zstd_zeros(size_t n, bool with_size) {
  std::vector<char> in(n, '\0');
  std::vector<char> out(ZSTD_compressBound(n));
  auto* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
  auto len = ZSTD_compress2(ctx, out.data(), out.size(), in.data(), n);
  ZSTD_freeCCtx(ctx);
  out.resize(ZSTD_isError(len) ? 0 : len);
  return out;
}

/// A write_file of `size` bytes whose data is the zstd frame `frame`.
op zstd_write(std::string path, std::vector<char> frame, uint64_t size,
              hash128 hash = {}) {
  op o;
  o.kind = op_kind::write_file;
  o.path = std::move(path);
  o.data = std::move(frame);
  o.encoding = data_encoding::zstd;
  o.size = size;
  o.mode = 0644;
  o.mtime_ns = some_mtime;
  o.hash = hash;
  return o;
}

op xfer_op(op_kind kind, uint64_t xfer) {
  op o;
  o.kind = kind;
  o.xfer = xfer;
  return o;
}

// -- running attacks --------------------------------------------------------------

/// What the reply must say about one op.
enum class want : char { refused = 'R', applied = 'A', either = '*' };

struct step {
  op o;
  want w;
};

/// A reason as one short line: control bytes shown as '?', and a reason that
/// echoes a 1 MB path cut to its start and length.
std::string short_text(const std::string& s, size_t max = 160) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f || c == '|' || c == ']') ? '?' : s[i];
  }
  if (s.size() > max)
    out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

class client {
public:
  client(caf::actor_system& sys, receiver_actor rx, const options& opts)
    : self_(sys), rx_(std::move(rx)), opts_(opts) {}

  caf::scoped_actor& self() { return self_; }

  /// Sends one apply request; false on a request error (printed).
  bool apply(const std::vector<op>& ops, std::vector<op_error>& errors,
             std::string& failure) {
    bool ok = false;
    self_
      ->request(rx_, std::chrono::seconds(opts_.timeout_s), atom::apply_v, ops)
      .receive(
        [&](std::vector<op_error>& es) {
          errors = std::move(es);
          ok = true;
        },
        [&](caf::error& err) { failure = self_->system().render(err); });
    return ok;
  }

  /// What is wrong with `errors` as the reply to the batch `steps`.
  static std::vector<std::string>
  reply_problems(const std::vector<step>& steps,
                 const std::vector<op_error>& errors) {
    std::set<uint32_t> refused;
    std::vector<std::string> problems;
    for (auto& e : errors) {
      if (e.index >= steps.size())
        problems.push_back("error index " + std::to_string(e.index)
                           + " out of range");
      else if (!refused.insert(e.index).second)
        problems.push_back("index " + std::to_string(e.index) + " twice");
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      bool r = refused.count(static_cast<uint32_t>(i)) != 0;
      if (steps[i].w == want::refused && !r)
        problems.push_back("op " + std::to_string(i) + " ("
                           + to_string(steps[i].o.kind) + " '"
                           + short_text(steps[i].o.path, 60)
                           + "') was NOT refused");
      else if (steps[i].w == want::applied && r)
        problems.push_back("op " + std::to_string(i) + " ("
                           + to_string(steps[i].o.kind)
                           + ") was refused but should apply");
    }
    return problems;
  }

  /// One attack: the ops in one batch, each with its expected outcome.
  void attack(const std::string& name, const std::vector<step>& steps) {
    if (!opts_.selected(name))
      return;
    std::vector<op> ops;
    ops.reserve(steps.size());
    for (auto& s : steps)
      ops.push_back(s.o);
    std::vector<op_error> errors;
    std::string failure;
    auto t0 = std::chrono::steady_clock::now();
    bool ok = apply(ops, errors, failure);
    auto ms = ms_since(t0);
    if (!ok) {
      ++attacks_;
      ++request_errors_;
      ++mismatches_;
      std::cout << "attack=" << name << " ops=" << ops.size()
                << " request-error=" << short_text(failure) << " ms=" << ms
                << std::endl;
      return;
    }
    auto problems = reply_problems(steps, errors);
    refused_ops_ += errors.size();
    std::ostringstream line;
    line << "attack=" << name << " ops=" << ops.size()
         << " refused=" << errors.size()
         << " expect=" << (problems.empty() ? "ok" : "MISMATCH") << " ms=" << ms
         << " refusals=[";
    for (size_t i = 0; i < errors.size(); ++i)
      line << (i ? "|" : "") << errors[i].index << ":"
           << short_text(errors[i].detail);
    line << "]";
    report(line, problems);
  }

  /// One packed batch (a message of the link's zstd stream), sent after a
  /// new hello when `hello_first`; `applies`: a reply with no op refused,
  /// else an error reply (the whole batch refused, nothing applied).
  struct packed_step {
    std::string what;
    packed_batch batch;
    bool hello_first = false;
    bool applies = false;
    /// Sent by another actor than the one that said hello.
    bool stranger = false;
  };

  void packed(const std::string& name, const std::vector<packed_step>& steps) {
    if (!opts_.selected(name))
      return;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> results;
    std::vector<std::string> problems;
    caf::scoped_actor stranger{self_->system()};
    for (auto& s : steps) {
      if (s.hello_first)
        self_
          ->request(rx_, std::chrono::seconds(opts_.timeout_s), atom::hello_v,
                    protocol_version, hostile_identity)
          .receive([](uint32_t) {},
                   [&](caf::error& err) {
                     problems.push_back("hello failed: "
                                        + self_->system().render(err));
                   });
      auto& who = s.stranger ? stranger : self_;
      bool replied = false;
      size_t refused = 0;
      std::string failure;
      who
        ->request(rx_, std::chrono::seconds(opts_.timeout_s), atom::apply_v,
                  s.batch)
        .receive(
          [&](std::vector<op_error>& es) {
            replied = true;
            refused = es.size();
          },
          [&](caf::error& err) { failure = self_->system().render(err); });
      results.push_back(s.what + ":"
                        + (replied ? "applied,refused_ops="
                                       + std::to_string(refused)
                                   : "refused," + short_text(failure, 80)));
      if (s.applies && (!replied || refused != 0))
        problems.push_back(s.what + " was not applied");
      if (!s.applies && replied)
        problems.push_back(s.what + " was NOT refused");
    }
    std::ostringstream line;
    line << "attack=" << name << " batches=" << steps.size()
         << " expect=" << (problems.empty() ? "ok" : "MISMATCH")
         << " ms=" << ms_since(t0) << " results=" << bracketed(results);
    report(line, problems);
  }

  /// An unpacked batch sent by another actor of this node, one that never
  /// said hello: refused whole (an error reply; nothing applied, no
  /// transfer opened). Then `after`, sent by the client that did say
  /// hello, gets the replies it expects.
  void stranger_apply(const std::string& name, const std::vector<op>& ops,
                      const std::vector<step>& after) {
    if (!opts_.selected(name))
      return;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> problems;
    caf::scoped_actor stranger{self_->system()};
    bool replied = false;
    size_t stranger_refused = 0;
    std::string failure;
    stranger
      ->request(rx_, std::chrono::seconds(opts_.timeout_s), atom::apply_v, ops)
      .receive(
        [&](std::vector<op_error>& es) {
          replied = true;
          stranger_refused = es.size();
        },
        [&](caf::error& err) {
          if (err == caf::sec::request_timeout) {
            ++request_errors_;
            problems.push_back("the stranger's batch got no reply");
          }
          failure = self_->system().render(err);
        });
    if (replied)
      problems.push_back("the stranger's batch was NOT refused ("
                         + std::to_string(stranger_refused) + " of "
                         + std::to_string(ops.size()) + " ops refused)");
    std::vector<op> after_ops;
    for (auto& s : after)
      after_ops.push_back(s.o);
    std::vector<op_error> errors;
    std::string after_failure;
    if (!apply(after_ops, errors, after_failure)) {
      ++request_errors_;
      problems.push_back("after: request-error " + short_text(after_failure));
    } else {
      for (auto& p : reply_problems(after, errors))
        problems.push_back("after: " + p);
      refused_ops_ += errors.size();
    }
    std::ostringstream line;
    line << "attack=" << name << " ops=" << ops.size() << " stranger="
         << (replied ? "applied,refused_ops=" + std::to_string(stranger_refused)
                     : "refused," + short_text(failure, 80))
         << " after-ops=" << after.size() << " refused=" << errors.size()
         << " expect=" << (problems.empty() ? "ok" : "MISMATCH")
         << " ms=" << ms_since(t0) << " refusals=[";
    for (size_t i = 0; i < errors.size(); ++i)
      line << (i ? "|" : "") << errors[i].index << ":"
           << short_text(errors[i].detail);
    line << "]";
    report(line, problems);
  }

  /// One read request (listings, recipe or digest) and the reply it must
  /// get: an answer, or an error reply (`answered` false: refused).
  enum class read_kind { listings, recipe, digest };
  struct read_step {
    std::string what;
    read_kind kind;
    /// The paths asked for (recipe: the first one).
    std::vector<std::string> paths;
    bool answered = false;
    /// An answered listings request: its first listing has this entry.
    std::string has = {};
    /// An answered digest request: these hashes, in order.
    std::vector<hash128> hashes = {};
  };

  void reads(const std::string& name, const std::vector<read_step>& steps) {
    if (!opts_.selected(name))
      return;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> results;
    std::vector<std::string> problems;
    const auto timeout = std::chrono::seconds(opts_.timeout_s);
    for (auto& s : steps) {
      bool replied = false, timed_out = false;
      std::string failure, wrong;
      auto on_error = [&](caf::error& err) {
        timed_out = err == caf::sec::request_timeout;
        failure = self_->system().render(err);
      };
      switch (s.kind) {
        case read_kind::listings:
          self_->request(rx_, timeout, atom::listings_v, s.paths)
            .receive(
              [&](std::vector<dir_listing>& ls) {
                replied = true;
                wrong = wrong_listings(s, ls);
              },
              on_error);
          break;
        case read_kind::recipe:
          self_
            ->request(rx_, timeout, atom::recipe_v,
                      s.paths.empty() ? std::string{} : s.paths[0],
                      chunker_params{})
            .receive([&](std::vector<chunk_ref>&) { replied = true; },
                     on_error);
          break;
        case read_kind::digest:
          self_->request(rx_, timeout, atom::digest_v, s.paths)
            .receive(
              [&](std::vector<hash128>& hs) {
                replied = true;
                if (hs.size() != s.paths.size())
                  wrong = std::to_string(hs.size()) + " hashes for "
                          + std::to_string(s.paths.size()) + " paths";
                else if (!s.hashes.empty() && hs != s.hashes)
                  wrong = "wrong hashes";
              },
              on_error);
          break;
      }
      results.push_back(s.what + ":"
                        + (replied ? std::string{"answered"}
                                   : "refused," + short_text(failure, 80)));
      if (timed_out) {
        ++request_errors_;
        problems.push_back(s.what + " got no reply");
      } else if (s.answered && !replied) {
        problems.push_back(s.what + " was refused but should be answered");
      } else if (!s.answered && replied) {
        problems.push_back(s.what + " was NOT refused");
      } else if (replied && !wrong.empty()) {
        problems.push_back(s.what + ": " + wrong);
      }
    }
    std::ostringstream line;
    line << "attack=" << name << " requests=" << steps.size()
         << " expect=" << (problems.empty() ? "ok" : "MISMATCH")
         << " ms=" << ms_since(t0) << " results=" << bracketed(results);
    report(line, problems);
  }

  /// A batch over the receiver's op count limit: refused whole, one error.
  void oversized_batch(const std::string& name, size_t n) {
    if (!opts_.selected(name))
      return;
    std::vector<op> ops;
    ops.reserve(n);
    for (size_t i = 0; i < n; ++i)
      ops.push_back(write_op("batch-whole.txt", "x"));
    std::vector<op_error> errors;
    std::string failure;
    auto t0 = std::chrono::steady_clock::now();
    bool ok = apply(ops, errors, failure);
    auto ms = ms_since(t0);
    ++attacks_;
    if (!ok) {
      ++request_errors_;
      ++mismatches_;
      std::cout << "attack=" << name << " ops=" << n
                << " request-error=" << short_text(failure) << std::endl;
      return;
    }
    bool whole = errors.size() == 1 && errors[0].index == 0
                 && errors[0].detail.find("batch") != std::string::npos;
    if (whole)
      ++batch_refusals_;
    else
      ++mismatches_, refused_ops_ += errors.size();
    std::cout << "attack=" << name << " ops=" << n
              << " refused=" << errors.size() << " whole-batch="
              << (whole ? "yes" : "no")
              << " expect=" << (whole ? "ok" : "MISMATCH") << " ms=" << ms
              << " refusals=["
              << (errors.empty() ? std::string{}
                                 : std::to_string(errors[0].index) + ":"
                                     + short_text(errors[0].detail))
              << (errors.size() > 1 ? "|..." : "") << "]" << std::endl;
  }

  /// `total` valid tiny ops in batches of at most `per_batch`: op 0 makes
  /// the folder `flood`, op i > 0 writes "op i\n" to flood/f<i % 8>.
  void flood(const std::string& name, uint64_t total, size_t per_batch) {
    if (!opts_.selected(name))
      return;
    uint64_t next = 0, batches = 0, refused = 0;
    double max_ms = 0;
    auto t0 = std::chrono::steady_clock::now();
    bool failed = false;
    std::string failure;
    while (next < total && !failed) {
      std::vector<op> ops;
      ops.reserve(per_batch);
      for (; next < total && ops.size() < per_batch; ++next) {
        if (next == 0)
          ops.push_back(simple(op_kind::mkdir, "flood"));
        else
          ops.push_back(write_op("flood/f" + std::to_string(next % 8),
                                 "op " + std::to_string(next) + "\n"));
      }
      std::vector<op_error> errors;
      auto b0 = std::chrono::steady_clock::now();
      if (!apply(ops, errors, failure)) {
        failed = true;
        break;
      }
      max_ms = std::max(max_ms, ms_since(b0));
      ++batches;
      refused += errors.size();
      if (!errors.empty() && refused == errors.size())
        std::cout << "flood-first-refusal batch=" << batches
                  << " index=" << errors[0].index
                  << " reason=" << short_text(errors[0].detail) << std::endl;
    }
    auto ms = ms_since(t0);
    ++attacks_;
    refused_ops_ += refused;
    if (failed) {
      ++request_errors_;
      ++mismatches_;
    } else if (refused != 0) {
      ++mismatches_;
    }
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.0f",
                  ms > 0 ? static_cast<double>(next) * 1000.0 / ms : 0.0);
    std::cout << "attack=" << name << " ops=" << next << " batches=" << batches
              << " refused=" << refused
              << " expect=" << (!failed && refused == 0 ? "ok" : "MISMATCH")
              << " ms=" << ms << " max-batch-ms=" << max_ms
              << " ops-per-s=" << rate;
    if (failed)
      std::cout << " request-error=" << short_text(failure);
    std::cout << std::endl;
  }

  /// The manifest still answers and holds `path`.
  void manifest_has(const std::string& name, const std::string& path) {
    if (!opts_.selected(name))
      return;
    bool found = false, ok = false;
    size_t n = 0;
    std::string failure;
    self_->request(rx_, std::chrono::seconds(opts_.timeout_s), atom::manifest_v)
      .receive(
        [&](std::vector<manifest_entry>& es) {
          ok = true;
          n = es.size();
          for (auto& e : es)
            found = found || e.path == path;
        },
        [&](caf::error& err) { failure = self_->system().render(err); });
    ++attacks_;
    if (!ok)
      ++request_errors_;
    if (!ok || !found)
      ++mismatches_;
    std::cout << "attack=" << name << " entries=" << n << " has-" << path
              << "=" << (found ? "yes" : "no")
              << " expect=" << (ok && found ? "ok" : "MISMATCH");
    if (!ok)
      std::cout << " request-error=" << short_text(failure);
    std::cout << std::endl;
  }

  void note(const std::string& what) {
    std::cout << "note " << what << std::endl;
  }

  /// "[a|b|c]".
  static std::string bracketed(const std::vector<std::string>& xs) {
    std::string out = "[";
    for (size_t i = 0; i < xs.size(); ++i)
      out += (i ? "|" : "") + xs[i];
    return out + "]";
  }

  /// Counts one attack and prints its line, with its problems if any.
  void report(std::ostringstream& line,
              const std::vector<std::string>& problems) {
    ++attacks_;
    if (!problems.empty()) {
      ++mismatches_;
      line << " problems=" << bracketed(problems);
    }
    std::cout << line.str() << std::endl;
  }

  int summary() {
    std::cout << "summary attacks=" << attacks_ << " mismatches=" << mismatches_
              << " refused_ops=" << refused_ops_
              << " batch_refusals=" << batch_refusals_
              << " request_errors=" << request_errors_ << std::endl;
    return request_errors_ == 0 ? 0 : 3;
  }

private:
  /// What is wrong with `ls` as the answer to the listings request `s`.
  static std::string wrong_listings(const read_step& s,
                                    const std::vector<dir_listing>& ls) {
    if (ls.size() != s.paths.size())
      return std::to_string(ls.size()) + " listings for "
             + std::to_string(s.paths.size()) + " directories";
    for (size_t i = 0; i < ls.size(); ++i)
      if (ls[i].path != s.paths[i] || !ls[i].complete)
        return "listing " + std::to_string(i) + " is of '"
               + short_text(ls[i].path, 60) + "'"
               + (ls[i].complete ? "" : ", incomplete");
    if (!s.has.empty() && !ls.empty()) {
      bool found = false;
      for (auto& e : ls[0].entries)
        found = found || e.name == s.has;
      if (!found)
        return "no entry '" + s.has + "' in '" + short_text(ls[0].path, 60)
               + "'";
    }
    return {};
  }

  static double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
  }

  caf::scoped_actor self_;
  receiver_actor rx_;
  const options& opts_;
  uint64_t attacks_ = 0, mismatches_ = 0, refused_ops_ = 0,
           batch_refusals_ = 0, request_errors_ = 0;
};

class client_config : public caf::actor_system_config {
public:
  client_config() {
    livesync::add_message_types(*this);
    load<caf::io::middleman>();
    set("scheduler.max-threads", 2);
  }
};

void run_attacks(client& c, const options& o) {
  const auto R = want::refused;
  const auto A = want::applied;
  const auto E = want::either;
  const std::string& out = o.outside;

  // Paths that leave the root by their text.
  c.attack("dotdot", {
    {write_op("../escape.txt", "escaped\n"), R},
    {write_op("sub/../../escape2.txt", "escaped\n"), R},
    {simple(op_kind::mkdir, "../escape-dir"), R},
    {simple(op_kind::symlink, "../escape-link", "/etc/passwd"), R},
    {simple(op_kind::remove, "../outside"), R},
    {begin_op("../escape-big.bin", 1, 10), R},
    {simple(op_kind::set_attr, "..", {}, 0777), R},
  });
  c.attack("absolute", {
    {write_op(out + "/abs.txt", "escaped\n"), R},
    {simple(op_kind::mkdir, out + "/abs-dir"), R},
    {simple(op_kind::symlink, out + "/abs-link", "x"), R},
    {simple(op_kind::remove, out + "/keep.txt"), R},
    {simple(op_kind::set_attr, out, {}, 0777), R},
    {begin_op(out + "/abs-big.bin", 2, 10), R},
  });
  c.attack("malformed_paths", {
    {write_op("", "empty\n"), R},
    {write_op(".", "dot\n"), R},
    {write_op("./x", "dot\n"), R},
    {write_op("x/./y", "dot\n"), R},
    {write_op("a//b", "empty component\n"), R},
    {write_op("trailing/", "trailing slash\n"), R},
    {write_op(std::string("nul\0x", 5), "NUL\n"), R},
    {write_op(std::string(256, 'n'), "name too long\n"), R},
  });
  c.attack("bad_fields", {
    [] {
      auto x = write_op("size-lie.txt", "abc");
      x.size = 1000;
      return step{x, want::refused};
    }(),
    [] {
      auto x = write_op("hash-lie.txt", "abc");
      x.hash.lo ^= 1;
      return step{x, want::refused};
    }(),
    [] {
      auto x = write_op("kind.txt", "abc");
      x.kind = static_cast<op_kind>(200);
      return step{x, want::refused};
    }(),
    {chunk_op(777, 0, 10), R},
    {xfer_op(op_kind::commit_file, 778), R},
    {simple(op_kind::symlink, "empty-target", ""), R},
    {simple(op_kind::symlink, "nul-target", std::string("a\0b", 3)), R},
    {simple(op_kind::set_attr, "missing-file", {}, 0644), R},
    {simple(op_kind::rename, "missing-source", "somewhere"), R},
    // setuid/setgid must be stripped, not refused (the test checks 0755).
    {write_op("suid.bin", "#!/bin/sh\n", 06755), A},
  });

  // A symlink the reference creates as a link, then used as a parent.
  c.attack("symlink_escape", {
    {simple(op_kind::symlink, "a", out), A},
    {write_op("a/x", "through the link\n"), R},
    {write_op("a/keep.txt", "overwrite outside\n"), R},
    {simple(op_kind::mkdir, "a/sub"), R},
    {simple(op_kind::symlink, "a/l", "/etc/passwd"), R},
    {begin_op("a/big.bin", 3, 10), R},
    {simple(op_kind::set_attr, "a/keep.txt", {}, 0777), R},
    // The link itself: a no-op for the outside dir either way (checked on
    // disk by the test); removing through the link is "already gone".
    {simple(op_kind::set_attr, "a", {}, 0777), E},
    {simple(op_kind::remove, "a/keep.txt"), E},
  });

  // Hard links: a name inside for a file outside (by its path, through a
  // symlinked directory, or through a symlink to it), or a name outside
  // for a file inside. Every one refused; the outside files keep their
  // link count (checked on disk by the test).
  c.attack("hard_link_escape", {
    {write_op("hl-inside.txt", "inside\n"), A},
    {simple(op_kind::symlink, "hl", out), A},
    {simple(op_kind::symlink, "hl-file", out + "/keep.txt"), A},
    {link_op("stolen", out + "/keep.txt", 19), R},
    {link_op("stolen", "../outside/keep.txt", 19), R},
    {link_op("stolen", "hl/keep.txt", 19), R},
    {link_op("stolen", "hl-file", 19), R},
    {link_op("hl/planted", "hl-inside.txt", 7), R},
    {link_op("../planted", "hl-inside.txt", 7), R},
    {link_op(".livesync/staging/x", "hl-inside.txt", 7), R},
    {link_op("stolen", ".livesync", 0), R},
  });

  // A directory the reference made, swapped for a symlink between requests.
  c.attack("dir_swap_setup", {
    {simple(op_kind::mkdir, "d"), A},
    {write_op("d/before.txt", "inside\n"), A},
  });
  if (o.selected("dir_swap")) {
    auto d = o.reference_root + "/d";
    auto moved = o.reference_root + "/d-swapped-out";
    if (::rename(d.c_str(), moved.c_str()) != 0
        || ::symlink(out.c_str(), d.c_str()) != 0)
      c.note("dir-swap failed: " + std::string(std::strerror(errno)));
    else
      c.note("dir-swap " + d + " -> " + out);
  }
  c.attack("dir_swap", {
    {write_op("d/x", "through the swapped dir\n"), R},
    {write_op("d/before.txt", "through the swapped dir\n"), R},
    {simple(op_kind::mkdir, "d/sub"), R},
    {simple(op_kind::symlink, "d/l", "/etc/passwd"), R},
    {begin_op("d/big.bin", 4, 10), R},
    {simple(op_kind::rename, "d/keep.txt", "stolen-via-d.txt"), R},
  });
  // A transfer begun while `e` was a directory, committed after the swap.
  c.attack("dir_swap_commit_setup", {
    {simple(op_kind::mkdir, "e"), A},
    {begin_op("e/late.txt", 5, 4), A},
    {chunk_op(5, 0, 4), A},
  });
  if (o.selected("dir_swap_commit")) {
    auto e = o.reference_root + "/e";
    auto moved = o.reference_root + "/e-swapped-out";
    if (::rename(e.c_str(), moved.c_str()) != 0
        || ::symlink(out.c_str(), e.c_str()) != 0)
      c.note("dir-swap failed: " + std::string(std::strerror(errno)));
    else
      c.note("dir-swap " + e + " -> " + out);
  }
  c.attack("dir_swap_commit", {
    [] {
      auto x = xfer_op(op_kind::commit_file, 5);
      std::string data(4, 'c');
      x.hash = hash_bytes(data.data(), data.size());
      return step{x, want::refused};
    }(),
  });

  c.attack("rename_through_symlink", {
    {write_op("r.txt", "rename me\n"), A},
    {simple(op_kind::rename, "r.txt", "a/r.txt"), R},
    {simple(op_kind::rename, "r.txt", "d/r.txt"), R},
    {simple(op_kind::rename, "r.txt", "a/sub/r.txt"), R},
    {simple(op_kind::rename, "a/keep.txt", "stolen.txt"), R},
    {simple(op_kind::rename, "r.txt", "../r.txt"), R},
    {simple(op_kind::rename, "r.txt", out + "/r.txt"), R},
  });

  c.attack("state_folder", {
    {write_op(".livesync/x", "state\n"), R},
    {write_op(".livesync/staging/0.tmp", "state\n"), R},
    {simple(op_kind::mkdir, ".livesync"), R},
    {simple(op_kind::mkdir, ".livesync/sub"), R},
    {simple(op_kind::remove, ".livesync"), R},
    {simple(op_kind::remove, ".livesync/staging"), R},
    {simple(op_kind::symlink, ".livesync", out), R},
    {simple(op_kind::set_attr, ".livesync", {}, 0777), R},
    {simple(op_kind::rename, "r.txt", ".livesync/staging/evil"), R},
    {simple(op_kind::rename, ".livesync", "stolen-state"), R},
    {begin_op(".livesync/big.bin", 6, 10), R},
  });

  // Copy ranges from a base file: past its end, through a symlink, from
  // the state folder, from a non-file. A refused copy drops its transfer,
  // so each one gets its own (1 MiB announced: never the limiting size).
  if (o.selected("copy_range"))  {
    auto fifo = o.reference_root + "/fifo";
    if (::mkfifo(fifo.c_str(), 0644) != 0)
      c.note("mkfifo failed: " + std::string(std::strerror(errno)));
  }
  c.attack("copy_range", [&] {
    struct attempt {
      std::string path, source;
      uint64_t offset, size;
    };
    std::vector<attempt> tries = {
      {"cr1.bin", "r.txt", 0, 100},              // r.txt holds 10 bytes
      {"cr2.bin", "r.txt", 8, 4},                // starts inside, ends past
      {"cr3.bin", "r.txt", UINT64_MAX - 4, 8},   // offset + size overflows
      {"cr4.bin", "a/keep.txt", 0, 8},           // base through symlink a
      {"cr5.bin", "d/keep.txt", 0, 8},           // ... through swapped d
      {"cr6.bin", "../outside/keep.txt", 0, 8},
      {"cr7.bin", out + "/keep.txt", 0, 8},
      {"cr8.bin", ".livesync/staging/0.tmp", 0, 1},
      {"cr9.bin", "fifo", 0, 1},                 // would block a reader
      {"cr10.bin", "d-swapped-out", 0, 1},       // a directory
      {"lnk", "", 0, 8},                         // own path: lnk -> outside
    };
    std::vector<step> s;
    s.push_back({simple(op_kind::symlink, "lnk", out + "/keep.txt"), want::applied});
    uint64_t xfer = 40;
    for (auto& t : tries) {
      s.push_back({begin_op(t.path, xfer, 1u << 20), want::applied});
      s.push_back({copy_op(xfer, t.source, t.offset, t.size), want::refused});
      s.push_back({xfer_op(op_kind::abort_file, xfer), want::applied});
      ++xfer;
    }
    s.push_back({copy_op(999, "r.txt", 0, 1), want::refused}); // no transfer
    s.push_back({simple(op_kind::remove, "fifo"), want::applied});
    return s;
  }());

  // Compressed data: bombs, lies about the size, garbage, unknown codecs.
  c.attack("zstd", [&] {
    const size_t bomb = size_t{64} << 20;
    auto sized = zstd_zeros(bomb, true);    // ~2 KiB that declare 64 MiB
    auto unsized = zstd_zeros(bomb, false); // ~2 KiB that hide 64 MiB
    std::string ok_text(4000, 'z');
    std::vector<char> ok_raw(ok_text.begin(), ok_text.end());
    auto ok_hash = hash_bytes(ok_raw.data(), ok_raw.size());
    std::vector<char> ok_frame(ZSTD_compressBound(ok_raw.size()));
    ok_frame.resize(ZSTD_compress(ok_frame.data(), ok_frame.size(),
                                  ok_raw.data(), ok_raw.size(), 3));
    std::vector<step> s;
    s.push_back({zstd_write("bomb1.bin", sized, bomb), want::refused});
    s.push_back({zstd_write("bomb2.bin", sized, 10), want::refused});
    s.push_back({zstd_write("bomb3.bin", unsized, 100), want::refused});
    s.push_back({zstd_write("bomb4.bin", unsized, 8u << 20), want::refused});
    s.push_back({zstd_write("garbage.bin", {'n', 'o', 't', 'z', 's', 't', 'd'}, 7),
                 want::refused});
    auto odd = zstd_write("codec.bin", ok_frame, ok_raw.size(), ok_hash);
    odd.encoding = static_cast<data_encoding>(7);
    s.push_back({odd, want::refused});
    // Frame and size agree, but the hash is of other bytes.
    s.push_back({zstd_write("zstd-hash.bin", ok_frame, ok_raw.size()),
                 want::refused});
    // Chunks: a hidden 64 MiB behind an announced 8 MiB, and a size over
    // the limit.
    s.push_back({begin_op("zchunk1.bin", 60, 16u << 20), want::applied});
    auto c1 = chunk_op(60, 0, 0);
    c1.data = unsized;
    c1.encoding = data_encoding::zstd;
    c1.size = 8u << 20;
    s.push_back({c1, want::refused});
    s.push_back({begin_op("zchunk2.bin", 61, 16u << 20), want::applied});
    auto c2 = chunk_op(61, 0, 0);
    c2.data = sized;
    c2.encoding = data_encoding::zstd;
    c2.size = bomb;
    s.push_back({c2, want::refused});
    // The codec itself works: a good compressed write applies.
    s.push_back({zstd_write("zstd-ok.txt", ok_frame, ok_raw.size(), ok_hash),
                 want::applied});
    return s;
  }());

  // Packed batches (one zstd stream per hello): a bomb inside a valid
  // stream, lies about the size, replays, garbage, a stranger's batch. A
  // refused batch breaks the stream until the next hello.
  c.packed("packed", [] {
    using ps = client::packed_step;
    // A message of `z`'s stream: the ops encoded, then compressed.
    auto message = [](stream_compressor& z, uint64_t seq,
                      const std::vector<op>& ops) {
      std::vector<char> raw;
      encode_ops(ops, raw);
      packed_batch b;
      b.seq = seq;
      b.raw_size = raw.size();
      b.checksum = XXH3_64bits(raw.data(), raw.size());
      if (!z.compress(raw.data(), raw.size(), b.frame).ok())
        b.frame.clear();
      return b;
    };
    std::string text;
    while (text.size() < 4000)
      text += "a packed write lands ";
    std::vector<op> good{write_op("packed-ok.txt", text)};
    std::vector<ps> s;
    // The stream of the client's first hello (said in main()).
    stream_compressor z1{3};
    s.push_back({"good", message(z1, 0, good), true, true});
    // 64 MiB of zeros in the same stream, stated as 1 MiB.
    auto bomb = message(z1, 1, {write_op("bomb.bin", std::string(64u << 20, '\0'))});
    bomb.raw_size = 1u << 20;
    s.push_back({"bomb-in-stream", bomb, false, false});
    // The stream is broken now: even a well-formed next message is refused.
    stream_compressor z1b{3};
    s.push_back({"after-refusal", message(z1b, 1, good), false, false});
    // A new hello, a new stream.
    stream_compressor z2{3};
    s.push_back({"good-after-hello", message(z2, 0, good), true, true});
    auto huge = message(z2, 1, good);
    huge.raw_size = uint64_t{4} << 30;
    s.push_back({"claims-4gib", huge, false, false});
    stream_compressor z3{3};
    auto first = message(z3, 0, good);
    s.push_back({"first", first, true, true});
    s.push_back({"replay", first, false, false});
    packed_batch garbage;
    garbage.frame = {'n', 'o', 't', 'z', 's', 't', 'd'};
    garbage.raw_size = 7;
    s.push_back({"garbage", garbage, true, false});
    // One frame that hides 64 MiB, stated as 1 MiB, on a fresh stream.
    packed_batch hidden;
    hidden.frame = zstd_zeros(size_t{64} << 20, false);
    hidden.raw_size = 1u << 20;
    s.push_back({"hidden-bomb", hidden, true, false});
    stream_compressor z4{3};
    s.push_back({"good-again", message(z4, 0, good), true, true});
    // Another actor of this node, which never said hello.
    stream_compressor z5{3};
    ps stranger{"stranger", message(z5, 0, good), false, false};
    stranger.stranger = true;
    s.push_back(stranger);
    return s;
  }());

  // An unpacked batch from another actor of this node, which never said
  // hello: refused whole (its transfer would outlive it, its write land).
  // The client that said hello then opens and aborts a transfer of the
  // same number: the stranger's never opened.
  c.stranger_apply("stranger_apply",
                   {begin_op("stranger-big.bin", 950, 1u << 20),
                    write_op("stranger.txt", "written by a stranger\n")},
                   {{begin_op("stranger-big.bin", 950, 16), A},
                    {xfer_op(op_kind::abort_file, 950), A}});

  // Read requests that name one path twice (each repeat would cost a whole
  // listing or hash): refused; the same requests without the repeat are
  // still answered.
  const std::string repeat_text = "named twice, served once\n";
  c.attack("read_repeats_setup", {
    {simple(op_kind::mkdir, "repeat"), A},
    {write_op("repeat/file.txt", repeat_text), A},
  });
  {
    using rs = client::read_step;
    const auto L = client::read_kind::listings;
    const auto D = client::read_kind::digest;
    c.reads("read_repeats", {
      rs{"listings-dir-twice", L, {"repeat", "repeat"}, false},
      rs{"listings-dir-twice-apart", L, {"repeat", "", "repeat"}, false},
      rs{"listings-root-twice", L, {"", ""}, false},
      rs{"listings-ok", L, {"repeat", ""}, true, "file.txt"},
      rs{"digest-file-twice", D, {"repeat/file.txt", "repeat/file.txt"}, false},
      rs{"digest-ok", D, {"repeat/file.txt"}, true, {},
         {hash_bytes(repeat_text.data(), repeat_text.size())}},
    });
  }

  // Sizes claimed by the peer.
  // Sizes claimed by the peer.
  const uint64_t four_gib = uint64_t{4} << 30;
  c.attack("claim_4gib", {
    {begin_op("big.bin", 10, four_gib), A},
    {chunk_op(10, four_gib - 16, 32), R},          // not where the stream is
    {xfer_op(op_kind::commit_file, 10), R},         // the refusal dropped it
    {begin_op("small.bin", 11, 16), A},
    {chunk_op(11, 0, 32), R},                       // past the announced end
    {begin_op("huge.bin", 12, UINT64_MAX), R},      // beyond the staging limit
    {begin_op("big1.bin", 13, uint64_t{60} << 30), A},
    {begin_op("big2.bin", 14, uint64_t{60} << 30), R}, // 120 GiB reserved
    {xfer_op(op_kind::abort_file, 13), A},
  });
  const size_t over_limit = (size_t{8} << 20) + 1;
  c.attack("chunk_over_8mib", {
    {begin_op("chunky.bin", 20, uint64_t{16} << 20), A},
    {chunk_op(20, 0, over_limit), R},
    [&] {
      auto x = write_op("whole-over-limit.bin", std::string(over_limit, 'w'));
      return step{x, want::refused};
    }(),
  });
  // The limit holds at every moment, and the reference applies ops on
  // different paths in parallel: in one batch, any one of 65 begins may be
  // the 65th to run. So 64 fill the slots, the next batch's is refused,
  // and the aborts come after.
  c.attack("too_many_transfers", [] {
    std::vector<step> s;
    for (uint64_t i = 0; i < 64; ++i)
      s.push_back({begin_op("t" + std::to_string(i) + ".bin", 100 + i, 1),
                   want::applied});
    return s;
  }());
  c.attack("too_many_transfers_65th",
           {{begin_op("t64.bin", 164, 1), want::refused}});
  c.attack("too_many_transfers_closed", [] {
    std::vector<step> s;
    for (uint64_t i = 0; i < 64; ++i)
      s.push_back({xfer_op(op_kind::abort_file, 100 + i), want::applied});
    return s;
  }());

  c.oversized_batch("batch_16385", 16385);
  c.flood("flood", o.flood_ops, 16384);

  // Paths of 1 MB: one name, and many components.
  std::string deep;
  while (deep.size() < (1u << 20))
    deep += "d/";
  deep += "x";
  c.attack("path_1mb", {
    {write_op(std::string(1u << 20, 'p'), "long\n"), R},
    {write_op(deep, "deep\n"), R},
    {simple(op_kind::mkdir, deep), R},
    {simple(op_kind::symlink, "long-target", std::string(1u << 20, 't')), R},
    {simple(op_kind::rename, "r.txt", std::string(1u << 20, 'q')), R},
  });

  // A refused path that carries a line break: the reference's log must
  // not turn it into a line of its own (run only when named).
  c.attack("log_injection", {
    {write_op("../inj\n2026-01-01T00:00:00.000 info [reference] "
              "FORGED-BY-HOSTILE-CLIENT op-applied kind=write_file path=x",
              "x\n"),
     R},
    {simple(op_kind::mkdir, ".livesync/x\nFORGED-BY-HOSTILE-CLIENT mkdir"), R},
  });

  // The same through every read request: paths whose refusal reasons
  // name them, line break included (run only when named). Each kind twice:
  // a path that breaks the rules, and a valid one that does not exist.
  {
    using rs = client::read_step;
    const auto L = client::read_kind::listings;
    const auto P = client::read_kind::recipe;
    const auto D = client::read_kind::digest;
    const std::string forged =
      "\n2026-01-01T00:00:00.000 info [reference] FORGED-BY-HOSTILE-CLIENT ";
    c.reads("log_injection_reads", {
      rs{"listings-invalid", L, {"../inj" + forged + "listings-sent dirs=1"},
         false},
      rs{"listings-missing", L, {"inj-missing" + forged + "listings-sent dirs=1"},
         false},
      rs{"recipe-invalid", P, {"../inj" + forged + "recipe-sent path=x"},
         false},
      rs{"recipe-missing", P, {"inj-missing" + forged + "recipe-sent path=x"},
         false},
      rs{"digest-invalid", D, {".livesync/x" + forged + "digest-sent paths=1"},
         false},
      rs{"digest-missing", D, {"inj-missing" + forged + "digest-sent paths=1"},
         false},
    });
  }

  // The connection still serves good operations.
  // The connection still serves good operations.
  c.attack("good_write", {
    {write_op("good.txt", "the reference still serves a good client\n"), A},
  });
  c.manifest_has("good_manifest", "good.txt");

  // Left open on purpose: the reference must drop it (and its staging
  // file) when this client goes away.
  c.attack("left_open", {
    {begin_op("left-open.bin", 900, 1u << 20), A},
    {chunk_op(900, 0, 1024), A},
  });
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  client_config cfg;
  caf::actor_system sys{cfg};
  auto rx = sys.middleman().remote_actor<receiver_actor>(opts.host, opts.port);
  if (!rx) {
    std::cout << "connect-failed host=" << opts.host << " port=" << opts.port
              << " reason=" << sys.render(rx.error()) << std::endl;
    return 1;
  }
  client c{sys, *rx, opts};
  // A wrong protocol version first: refused, and the right one still works.
  bool refused = false, ok = false;
  c.self()
    ->request(*rx, std::chrono::seconds(opts.timeout_s), atom::hello_v,
              protocol_version + 1000, hostile_identity)
    .receive([&](uint32_t) {}, [&](caf::error&) { refused = true; });
  uint32_t theirs = 0;
  c.self()
    ->request(*rx, std::chrono::seconds(opts.timeout_s), atom::hello_v,
              protocol_version, hostile_identity)
    .receive(
      [&](uint32_t v) {
        ok = true;
        theirs = v;
      },
      [&](caf::error& err) {
        std::cout << "hello-failed reason=" << sys.render(err) << std::endl;
      });
  std::cout << "hello protocol=" << theirs << " wrong-version-refused="
            << (refused ? "yes" : "no") << std::endl;
  if (!ok)
    return 1;
  run_attacks(c, opts);
  return c.summary();
}

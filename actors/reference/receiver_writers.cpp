// The receiver's side of the path writers: hands the schedule's tasks to
// the writers (spawning one when first needed, or when the one it had
// retired), matches their answers, serves reads whose turn came, and
// answers batches in order.
#include "actors/reference/receiver_detail.hpp"

#include "actors/reference/path_writer.hpp"

#include <spdlog/spdlog.h>

namespace livesync::receiver_detail {

namespace {

/// The live writer `w`, spawned if it has none.
path_writer_actor writer_for(self_ptr self, size_t w) {
  auto& st = self->state;
  if (!st.writers[w]) {
    auto writer = st.writer->sibling();
    // Linked: the writers stop with the receiver (a normal retirement
    // does not take the receiver along).
    st.writers[w] = st.pool.detached
                      ? self->spawn<caf::detached + caf::linked>(
                        path_writer, std::move(writer), st.stopping)
                      : self->spawn<caf::linked>(path_writer,
                                                 std::move(writer),
                                                 st.stopping);
    spdlog::debug("writer-started writer={} incarnation={}", w,
                  st.incarnations[w]);
  }
  return st.writers[w];
}

void task_answered(self_ptr self, size_t w, const std::vector<op_error>& errs);
void task_bounced(self_ptr self, size_t w, uint64_t incarnation);

void send_task(self_ptr self, size_t w, const sent_task& s) {
  auto incarnation = s.incarnation;
  self->request(writer_for(self, w), caf::infinite, atom::apply_v, s.task)
    .then(
      [=](const std::vector<op_error>& errs) {
        task_answered(self, w, errs);
      },
      [=](const caf::error&) { task_bounced(self, w, incarnation); });
}

void task_answered(self_ptr self, size_t w,
                   const std::vector<op_error>& errs) {
  auto& st = self->state;
  if (st.sent[w].empty())
    return;
  auto done = std::move(st.sent[w].front());
  st.sent[w].pop_front();
  st.last_used[w] = self->clock().now();
  if (done.task->read) {
    if (done.answer)
      done.answer();
    st.schedule->read_done();
  } else {
    st.schedule->task_done(w, errs);
  }
  pump(self);
}

/// With nothing in flight, retires the writers unused for pool.idle that
/// hold no transfer.
void retire_idle(self_ptr self) {
  auto& st = self->state;
  if (st.schedule->in_flight() > 0 || st.schedule->queued() > 0)
    return;
  auto now = self->clock().now();
  for (size_t w = 0; w < st.writers.size(); ++w) {
    if (!st.writers[w] || !st.sent[w].empty()
        || st.schedule->holds_transfers(w) || now - st.last_used[w] < st.pool.idle)
      continue;
    self->send(st.writers[w], atom::tick_v);
    st.writers[w] = nullptr;
    ++st.incarnations[w];
    spdlog::debug("writer-retired writer={}", w);
  }
}

// A writer that retired (or died) bounces every task that reached it
// after it decided to go, in the order they were sent; all of its answered
// tasks were answered before. So at the first bounce, every task still
// owed by that incarnation goes, in order, to a new one; the later bounces
// of the old one are stale.
void task_bounced(self_ptr self, size_t w, uint64_t incarnation) {
  auto& st = self->state;
  if (incarnation != st.incarnations[w])
    return;
  ++st.incarnations[w];
  st.writers[w] = nullptr;
  bool abort_after = false;
  for (auto& s : st.sent[w]) {
    abort_after = abort_after || s.aborts < st.aborts;
    s.incarnation = st.incarnations[w];
    s.aborts = st.aborts;
    send_task(self, w, s);
  }
  // Transfers an abort meant to end were opened again by the resent
  // tasks: end them after.
  if (abort_after)
    self->send(writer_for(self, w), atom::abort_v);
  spdlog::debug("writer-replaced writer={} resent={}", w, st.sent[w].size());
}

void hand_out(self_ptr self, writer_task t,
              std::function<void()> answer = {}) {
  auto& st = self->state;
  auto w = t.writer;
  sent_task s{std::make_shared<const writer_task>(std::move(t)),
              st.incarnations[w], st.aborts, std::move(answer)};
  st.sent[w].push_back(std::move(s));
  send_task(self, w, st.sent[w].back());
}

void answer_done(self_ptr self) {
  auto& st = self->state;
  auto done = st.schedule->take_done();
  for (auto& d : done) {
    if (st.answers.empty())
      break;
    auto answer = std::move(st.answers.front());
    st.answers.pop_front();
    auto errors = std::move(answer.early);
    errors.insert(errors.end(), std::make_move_iterator(d.errors.begin()),
                  std::make_move_iterator(d.errors.end()));
    answer.promise.deliver(std::move(errors));
  }
  if (!done.empty())
    report(self);
}

} // namespace

void report(self_ptr self) {
  auto& st = self->state;
  if (!st.metrics)
    return;
  auto c = st.counters;
  auto ws = st.writer->stats();
  c.ops = ws.ops;
  c.op_errors = ws.errors;
  c.files_committed = ws.files_committed;
  c.written_bytes = ws.bytes_written;
  c.open_transfers = st.writer->open_transfers();
  c.watcher = st.peer ? st.peer_identity : std::string{};
  self->send(st.metrics, std::move(c));
}

caf::typed_response_promise<std::vector<op_error>>
queue_batch(self_ptr self, std::vector<op> ops, std::vector<op_error> early) {
  auto& st = self->state;
  auto promise = self->make_response_promise<std::vector<op_error>>();
  st.answers.push_back(owed_answer{promise, std::move(early)});
  st.schedule->add_batch(std::move(ops));
  pump(self);
  return promise;
}

void abort_transfers(self_ptr self) {
  auto& st = self->state;
  ++st.aborts;
  st.schedule->forget_transfers();
  // Each writer's mailbox keeps order: the abort comes after every task
  // handed out before it, and before every task after.
  for (auto& w : st.writers)
    if (w)
      self->send(w, atom::abort_v);
  st.writer->abort_all();
}

void pump(self_ptr self) {
  auto& st = self->state;
  auto step = st.schedule->next();
  for (auto& t : step.tasks)
    hand_out(self, std::move(t));
  if (step.read) {
    // Walks, listings and hashes take long on large trees: a writer's
    // thread serves them (nothing else runs meanwhile), not ours.
    auto i = st.reads.find(*step.read);
    writer_task t;
    t.writer = 0;
    t.read = [] {};
    std::function<void()> answer;
    if (i != st.reads.end()) {
      t.read = std::move(i->second.run);
      answer = std::move(i->second.answer);
      st.reads.erase(i);
    }
    hand_out(self, std::move(t), std::move(answer));
  }
  answer_done(self);
  retire_idle(self);
}

} // namespace livesync::receiver_detail

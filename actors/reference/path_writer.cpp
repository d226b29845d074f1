#include "actors/reference/path_writer.hpp"

#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

namespace livesync {

namespace {

using self_ptr = path_writer_actor::stateful_pointer<path_writer_state>;

/// A path fit to echo back in an op_error (a refused one may be huge).
std::string echoed(const std::string& path) {
  return path.size() <= max_path_bytes ? path : std::string{};
}

std::vector<op_error> run(self_ptr self, const writer_task& task) {
  std::vector<op_error> errors;
  auto& w = *self->state.writer;
  auto& stopping = self->state.stopping;
  for (size_t i = 0; i < task.ops.size(); ++i) {
    auto& s = task.ops[i];
    auto index = static_cast<uint32_t>(i);
    if (stopping && stopping->load(std::memory_order_relaxed)) {
      spdlog::info("task-interrupted reason=stopping applied={} "
                   "not_applied={}",
                   i, task.ops.size() - i);
      for (; i < task.ops.size(); ++i)
        errors.push_back({static_cast<uint32_t>(i), ec::stopping,
                          echoed(task.ops[i].x.path),
                          "the reference is stopping"});
      break;
    }
    if (s.sync) {
      if (auto st = w.end_batch(); !st) {
        spdlog::error("sync-failed reason={}", st.reason());
        errors.push_back({index, st.code(), {}, st.reason()});
      }
      continue;
    }
    auto& o = s.x;
    // Ops of a transfer that already failed echo that one failure:
    // logged at info, so one full disk is one warning, not dozens.
    bool echo = (o.kind == op_kind::chunk || o.kind == op_kind::copy_range
                 || o.kind == op_kind::commit_file)
                && w.was_dropped(o.xfer);
    if (auto st = w.apply(o); !st) {
      if (echo)
        spdlog::info("op-refused kind={} path={} reason={} echo=true",
                     to_string(o.kind), printable(o.path), st.reason());
      else
        spdlog::warn("op-refused kind={} path={} reason={}",
                     to_string(o.kind), printable(o.path), st.reason());
      errors.push_back({index, st.code(), echoed(o.path), st.reason()});
    } else {
      spdlog::debug("op-applied kind={} path={}", to_string(o.kind),
                    printable(o.path));
    }
  }
  return errors;
}

} // namespace

path_writer_actor::behavior_type
path_writer(path_writer_actor::stateful_pointer<path_writer_state> self,
            std::unique_ptr<tree_writer> writer,
            std::shared_ptr<const std::atomic<bool>> stopping) {
  self->state.writer = std::move(writer);
  self->state.stopping = std::move(stopping);
  return {
    [=](atom::apply, const std::shared_ptr<const writer_task>& task)
      -> caf::result<std::vector<op_error>> {
      std::vector<op_error> errors;
      if (task->read) {
        // The read answers its own request; this reply only says "done".
        task->read();
        return errors;
      }
      try {
        errors = run(self, *task);
      } catch (const std::exception& e) {
        // tree_writer never throws across its API; bad_alloc here (the
        // errors list) fails the task's ops rather than the writer.
        spdlog::error("task-failed reason={}", printable(e.what(), 1024));
        errors.clear();
        for (size_t i = 0; i < task->ops.size(); ++i)
          errors.push_back({static_cast<uint32_t>(i), ec::internal, {},
                            e.what()});
      }
      return errors;
    },
    [=](atom::abort) {
      self->state.writer->abort_all();
    },
    [=](atom::tick) {
      // Retired by the receiver, which sends this only while no task of
      // ours is in flight and we hold no transfer.
      self->quit();
    },
  };
}

} // namespace livesync

#include "core/reference/apply_schedule.hpp"

#include <algorithm>
#include <functional>

namespace livesync {

bool runs_alone(const op& x) {
  switch (x.kind) {
    case op_kind::write_file:
    case op_kind::begin_file:
    case op_kind::chunk:
    case op_kind::commit_file:
    case op_kind::abort_file:
    case op_kind::symlink:
      return false;
    case op_kind::copy_range:
      // From the file's own previous version: the same writer's path.
      return !x.target.empty() && x.target != x.path;
    case op_kind::mkdir:
    case op_kind::remove:
    case op_kind::rename:
    case op_kind::set_attr:
    case op_kind::link:
      return true;
  }
  return true;
}

apply_schedule::apply_schedule(size_t writers, bool sync_batches)
  : sync_batches_(sync_batches), running_(std::max<size_t>(writers, 1)) {
  // nop
}

size_t apply_schedule::writer_of(const std::string& path) const {
  return std::hash<std::string>{}(path) % running_.size();
}

size_t apply_schedule::route(const op& x) {
  switch (x.kind) {
    case op_kind::begin_file: {
      auto w = writer_of(x.path);
      if (xfer_writer_.count(x.xfer) == 0) {
        if (xfer_writer_.size() >= max_known_transfers) {
          xfer_writer_.erase(xfer_order_.front());
          xfer_order_.pop_front();
        }
        xfer_order_.push_back(x.xfer);
      }
      xfer_writer_[x.xfer] = w;
      return w;
    }
    case op_kind::chunk:
    case op_kind::copy_range:
    case op_kind::commit_file:
    case op_kind::abort_file: {
      auto i = xfer_writer_.find(x.xfer);
      if (i == xfer_writer_.end())
        return writer_of(x.path);
      auto w = i->second;
      if (x.kind == op_kind::commit_file || x.kind == op_kind::abort_file) {
        xfer_writer_.erase(i);
        xfer_order_.erase(
          std::find(xfer_order_.begin(), xfer_order_.end(), x.xfer));
      }
      return w;
    }
    default:
      return writer_of(x.path);
  }
}

bool apply_schedule::holds_transfers(size_t w) const {
  for (auto& kv : xfer_writer_)
    if (kv.second == w)
      return true;
  return false;
}

void apply_schedule::forget_transfers() {
  xfer_writer_.clear();
  xfer_order_.clear();
}

void apply_schedule::add_batch(std::vector<op> ops) {
  auto id = next_batch_++;
  batch_state b{id, ops.size() + (sync_batches_ ? 1 : 0), {}, {}};
  for (size_t i = 0; i < ops.size(); ++i) {
    item it;
    it.batch = id;
    it.index = static_cast<uint32_t>(i);
    it.alone = runs_alone(ops[i]);
    if (sync_batches_)
      b.paths.push_back(ops[i].path);
    it.x = std::move(ops[i]);
    queue_.push_back(std::move(it));
  }
  if (sync_batches_) {
    item it;
    it.batch = id;
    it.alone = true;
    it.sync = true;
    queue_.push_back(std::move(it));
  }
  batches_.push_back(std::move(b));
}

void apply_schedule::add_read(uint64_t token) {
  item it;
  it.alone = true;
  it.is_read = true;
  it.token = token;
  queue_.push_back(std::move(it));
}

apply_schedule::step apply_schedule::next() {
  step out;
  // Index into out.tasks per writer, or npos.
  std::vector<size_t> slot(running_.size(), SIZE_MAX);
  std::vector<std::vector<origin>> origins(running_.size());
  auto hand = [&](size_t w, item& it) {
    if (slot[w] == SIZE_MAX) {
      slot[w] = out.tasks.size();
      out.tasks.push_back(writer_task{w, {}, {}});
    }
    out.tasks[slot[w]].ops.push_back(scheduled_op{std::move(it.x), it.sync});
    origins[w].push_back(origin{it.batch, it.index, it.alone, it.sync});
    ++in_flight_;
  };
  while (!queue_.empty() && !alone_running_) {
    auto& it = queue_.front();
    if (it.alone) {
      // After everything before it, and nothing beside it.
      if (in_flight_ > 0 || !out.tasks.empty())
        break;
      alone_running_ = true;
      if (it.is_read)
        out.read = it.token;
      else
        hand(it.sync ? 0 : route(it.x), it);
      queue_.pop_front();
      break;
    }
    hand(route(it.x), it);
    queue_.pop_front();
  }
  for (auto& t : out.tasks)
    running_[t.writer].push_back(std::move(origins[t.writer]));
  return out;
}

apply_schedule::batch_state* apply_schedule::find_batch(uint64_t id) {
  // Batches are few and ids ascend: the front is the oldest.
  if (batches_.empty() || id < batches_.front().id)
    return nullptr;
  auto pos = id - batches_.front().id;
  return pos < batches_.size() ? &batches_[pos] : nullptr;
}

void apply_schedule::task_done(size_t writer,
                               const std::vector<op_error>& failures) {
  if (writer >= running_.size() || running_[writer].empty())
    return;
  auto task = std::move(running_[writer].front());
  running_[writer].pop_front();
  for (auto& f : failures) {
    if (f.index >= task.size())
      continue;
    auto& o = task[f.index];
    auto* b = find_batch(o.batch);
    if (b == nullptr)
      continue;
    if (o.sync) {
      // Nothing of the batch is known to be durable: say so for all.
      for (size_t i = 0; i < b->paths.size(); ++i)
        b->errors.push_back(
          {static_cast<uint32_t>(i), f.code, b->paths[i], f.detail});
    } else {
      b->errors.push_back({o.index, f.code, f.path, f.detail});
    }
  }
  for (auto& o : task) {
    if (auto* b = find_batch(o.batch); b != nullptr && b->outstanding > 0)
      --b->outstanding;
    if (o.alone)
      alone_running_ = false;
  }
  in_flight_ -= std::min(in_flight_, task.size());
}

void apply_schedule::read_done() {
  alone_running_ = false;
}

std::vector<apply_schedule::done_batch> apply_schedule::take_done() {
  std::vector<done_batch> out;
  while (!batches_.empty() && batches_.front().outstanding == 0) {
    auto& b = batches_.front();
    std::stable_sort(b.errors.begin(), b.errors.end(),
                     [](const op_error& x, const op_error& y) {
                       return x.index < y.index;
                     });
    out.push_back(done_batch{std::move(b.errors)});
    batches_.pop_front();
  }
  return out;
}

} // namespace livesync

#include "actors/watcher/content_worker.hpp"

namespace livesync {

content_worker_actor::behavior_type content_worker() {
  return {
    [](atom::read, content_reads& rs) {
      for (auto& r : rs)
        r->run();
      return rs;
    },
  };
}

std::vector<content_worker_actor>
spawn_content_workers(caf::actor_system& sys, size_t n, bool detached) {
  std::vector<content_worker_actor> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(detached ? sys.spawn<caf::detached>(content_worker)
                           : sys.spawn(content_worker));
  return out;
}

} // namespace livesync

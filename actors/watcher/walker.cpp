#include "actors/watcher/walker.hpp"

#include "core/watcher/subdir_listing.hpp"

namespace livesync {

void walker(caf::event_based_actor* self, tracker_actor tracker,
            std::string root, std::vector<walk_task> tasks) {
  std::vector<walk_listing> out;
  out.reserve(tasks.size());
  for (auto& t : tasks) {
    walk_listing l;
    l.wd = t.wd;
    l.walk = t.walk;
    int error = 0;
    l.subdirs = list_subdirs(t.path.empty() ? root : root + "/" + t.path,
                             error);
    l.error = error;
    l.path = std::move(t.path);
    out.push_back(std::move(l));
  }
  self->send(tracker, atom::listed_v, std::move(out));
  // No behavior: the walker terminates here.
}

} // namespace livesync

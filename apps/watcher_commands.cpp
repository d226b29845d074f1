#include "apps/watcher_commands.hpp"

#include "apps/common/app_support.hpp"

#include "core/wire/content_hash.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/watcher/local_tree.hpp"
#include "core/common/path_rules.hpp"
#include "core/watcher/progress_meter.hpp"
#include "core/watcher/tree_compare.hpp"
#include "core/watcher/watcher_metrics.hpp"
#include "messages/actors.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <chrono>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <iostream>
#include <set>
#include <unistd.h>

namespace livesync {

namespace {

constexpr int exit_failed = 1;
constexpr int exit_unreachable = 3;

/// Connects to `t` and returns the handle of type Handle, or null with
/// `why` set.
template <class Handle>
Handle connect_to(caf::scoped_actor& self, const command_target& t,
                  std::string& why) {
  auto& sys = self->system();
  auto mm = t.tls ? sys.openssl_manager().actor_handle()
                  : sys.middleman().actor_handle();
  Handle out;
  self->request(mm, t.timeout, caf::connect_atom::value, t.host, t.port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& ifs) {
        if (!ptr || !sys.assignable<Handle>(ifs))
          why = "the peer at " + t.host + ":" + std::to_string(t.port)
                + " is not what this command talks to";
        else
          out = caf::actor_cast<Handle>(std::move(ptr));
      },
      [&](caf::error& err) { why = sys.render(err); });
  return out;
}

int unreachable(const command_target& t, const std::string& what,
                const std::string& why) {
  std::cerr << "livesync-watcher: error: cannot reach the " << what << " at "
            << t.host << ":" << t.port << ": " << why << std::endl;
  return exit_unreachable;
}

/// The watcher's control actor, or null with the error printed and `rc`
/// set.
control_actor connect_control(caf::scoped_actor& self,
                              const command_target& t, int& rc) {
  std::string why;
  auto ctl = connect_to<control_actor>(self, t, why);
  if (!ctl)
    rc = unreachable(t, "watcher's control port", why);
  return ctl;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
    .count();
}

/// XXH3-128 of a local file, read as a consistent version (a file that
/// changes while it is read is an error: verify a busy tree after flush).
bool hash_file(const std::string& full, hash128& out, std::string& why) {
  file_stream fs;
  std::vector<char> buf;
  auto r = fs.open(full, why);
  while (r == read_outcome::ok && !fs.at_end())
    r = fs.next(1u << 20, buf, why);
  if (r == read_outcome::ok)
    r = fs.finish();
  if (r == read_outcome::changed)
    why = "it changed while it was read";
  else if (r == read_outcome::vanished)
    why = "it vanished or changed type";
  out = fs.digest();
  return r == read_outcome::ok;
}

} // namespace

status_format parse_status_format(const std::string& format, bool json) {
  if (format.empty() || format == "text" || format == "json"
      || format == "prometheus") {
    if (json && !format.empty() && format != "json")
      throw usage_error{"--json conflicts with --format=" + format};
    if (json || format == "json")
      return status_format::json;
    return format == "prometheus" ? status_format::prometheus
                                  : status_format::text;
  }
  throw usage_error{"invalid value for 'format': \"" + format
                    + "\" (expected text, json or prometheus)"};
}

int run_status(caf::actor_system& sys, const command_target& control,
               status_format format) {
  caf::scoped_actor self{sys};
  int rc = 0;
  auto ctl = connect_control(self, control, rc);
  if (!ctl)
    return rc;
  self->request(ctl, control.timeout, atom::status_v)
    .receive(
      [&](std::vector<watcher_status>& s) {
        switch (format) {
          case status_format::text: std::cout << render_text(s); break;
          case status_format::json: std::cout << render_json(s); break;
          case status_format::prometheus:
            std::cout << render_prometheus(
              s, std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count());
            break;
        }
        std::cout << std::flush;
      },
      [&](caf::error& err) {
        std::cerr << "livesync-watcher: error: status: " << sys.render(err)
                  << std::endl;
        rc = exit_unreachable;
      });
  return rc;
}

int run_flush(caf::actor_system& sys, const command_target& control,
              const std::string& only) {
  auto start = std::chrono::steady_clock::now();
  caf::scoped_actor self{sys};
  int rc = 0;
  auto ctl = connect_control(self, control, rc);
  if (!ctl)
    return rc;
  self->request(ctl, control.timeout, atom::flush_v, only)
    .receive(
      [&](flush_report& r) {
        std::printf("flushed in %.3f s", seconds_since(start));
        if (r.refused > 0) {
          std::printf(", but the reference refused %llu operation(s) "
                      "meanwhile (see the watcher's log; they are retried)",
                      static_cast<unsigned long long>(r.refused));
          rc = exit_failed;
        }
        std::printf("\n");
        // Several references: the ones not connected were not waited for.
        for (auto& name : r.unreachable) {
          std::printf("not flushed: %s is not connected (its changes follow "
                      "when it is back)\n",
                      name.c_str());
          rc = exit_failed;
        }
      },
      [&](caf::error& err) {
        std::cerr << "livesync-watcher: error: flush: " << sys.render(err)
                  << " (is the reference reachable? see `livesync-watcher "
                     "status`)"
                  << std::endl;
        rc = exit_failed;
      });
  return rc;
}

int run_verify(caf::actor_system& sys, const command_target& reference,
               const std::string& root, const ignore_rules* excludes,
               uint32_t mode_mask) {
  auto start = std::chrono::steady_clock::now();
  caf::scoped_actor self{sys};
  std::string why;
  auto rx = connect_to<receiver_actor>(self, reference, why);
  if (!rx)
    return unreachable(reference, "reference", why);
  std::vector<manifest_entry> theirs;
  self->request(rx, reference.timeout, atom::manifest_v)
    .receive([&](std::vector<manifest_entry>& xs) { theirs = std::move(xs); },
             [&](caf::error& err) { why = sys.render(err); });
  if (!why.empty())
    return unreachable(reference, "reference", "manifest: " + why);
  local_tree fs{root};
  std::vector<std::string> skipped, unreadable;
  auto mine = list_tree(fs, excludes, &skipped, &unreadable);
  auto cmp = compare_listings(mine, theirs, mode_mask, excludes, &unreadable);
  // A file this user may not read (verify run as a watcher that is not
  // root) cannot be vouched for: one difference, not a failed run.
  cmp.to_hash.erase(
    std::remove_if(cmp.to_hash.begin(), cmp.to_hash.end(),
                   [&](const std::string& p) {
                     if (::faccessat(AT_FDCWD, fs.full_path(p).c_str(), R_OK,
                                     AT_EACCESS)
                         == 0)
                       return false;
                     cmp.differences.push_back(tree_difference{
                       p, "unreadable on the watcher (not compared)"});
                     return true;
                   }),
    cmp.to_hash.end());
  // Hash both sides in batches: the reference at most max_digest_paths
  // per request.
  uint64_t hashed_bytes = 0;
  std::map<std::string, uint64_t> sizes;
  for (auto& e : mine)
    if (e.meta.kind == entry_kind::file)
      sizes[e.path] = e.meta.size;
  // Batches bounded by bytes too: the reference hashes a request in one go,
  // and its link to the watcher waits meanwhile.
  constexpr uint64_t digest_batch_bytes = uint64_t{256} << 20;
  for (size_t i = 0, end = 0; i < cmp.to_hash.size(); i = end) {
    uint64_t batch_bytes = 0;
    for (end = i; end < cmp.to_hash.size() && end - i < max_digest_paths
                  && (end == i || batch_bytes < digest_batch_bytes);
         ++end)
      batch_bytes += sizes[cmp.to_hash[end]];
    std::vector<std::string> paths(cmp.to_hash.begin() + i,
                                   cmp.to_hash.begin() + end);
    std::vector<hash128> ours(paths.size());
    for (size_t j = 0; j < paths.size(); ++j) {
      std::string why_not;
      if (!hash_file(fs.full_path(paths[j]), ours[j], why_not)) {
        std::cerr << "livesync-watcher: error: verify: cannot hash "
                  << printable(paths[j]) << ": " << why_not
                  << " (run flush first on a busy tree)" << std::endl;
        return exit_failed;
      }
      hashed_bytes += sizes[paths[j]];
    }
    std::vector<hash128> remote;
    self->request(rx, reference.timeout, atom::digest_v, paths)
      .receive([&](std::vector<hash128>& xs) { remote = std::move(xs); },
               [&](caf::error& err) { why = sys.render(err); });
    if (!why.empty() || remote.size() != paths.size()) {
      std::cerr << "livesync-watcher: error: verify: the reference could not "
                   "hash its copy: "
                << (why.empty() ? std::string{"short reply"} : why)
                << (why.find("timeout") != std::string::npos
                      ? " (raise --timeout for very large files)"
                      : " (a file changed or vanished meanwhile? run flush "
                        "first)")
                << std::endl;
      return exit_failed;
    }
    add_content_differences(cmp, paths, ours, remote);
  }
  std::sort(cmp.differences.begin(), cmp.differences.end(),
            [](const tree_difference& x, const tree_difference& y) {
              return x.path < y.path;
            });
  for (auto& d : cmp.differences)
    std::cout << "differs path=" << printable(d.path) << " what=" << d.what
              << "\n";
  for (auto& p : skipped)
    std::cout << "skipped path=" << printable(p)
              << " reason=not mirrored (fifo, socket, device or state "
                 "folder)\n";
  std::printf("verify: %s entries on the watcher, %s on the reference, %s "
              "files (%s) compared by content hash, %s difference(s), %.3f "
              "s\n",
              grouped(mine.size()).c_str(), grouped(theirs.size()).c_str(),
              grouped(cmp.to_hash.size()).c_str(),
              human_bytes(static_cast<double>(hashed_bytes)).c_str(),
              grouped(cmp.differences.size()).c_str(), seconds_since(start));
  std::fflush(stdout);
  return cmp.differences.empty() ? 0 : exit_failed;
}

} // namespace livesync

#define CAF_SUITE core.inotify_decode
#include <caf/test/unit_test.hpp>

#include "core/watcher/inotify_decode.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <sys/inotify.h>

using namespace livesync;

namespace {

// -- building kernel buffers by hand ------------------------------------------

/// Appends one struct inotify_event with `name` padded by NULs to `len`
/// bytes (the kernel pads to an alignment boundary).
void put_event(std::vector<char>& buf, int32_t wd, uint32_t mask,
               uint32_t cookie, const std::string& name, uint32_t len) {
  inotify_event ev{};
  ev.wd = wd;
  ev.mask = mask;
  ev.cookie = cookie;
  ev.len = len;
  auto pos = buf.size();
  buf.resize(pos + sizeof(ev) + len, '\0');
  std::memcpy(buf.data() + pos, &ev, sizeof(ev));
  std::memcpy(buf.data() + pos + sizeof(ev), name.data(),
              std::min<size_t>(name.size(), len));
}

std::string show(const inotify_record& r) {
  return std::to_string(r.wd) + " " + std::to_string(r.mask) + " "
         + std::to_string(r.cookie) + " '" + r.name + "'";
}

std::vector<std::string> show(const std::vector<inotify_record>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(show(x));
  return out;
}

using strings = std::vector<std::string>;

} // namespace

// -- decode_inotify -----------------------------------------------------------

CAF_TEST(decode splits records and strips padding) {
  std::vector<char> buf;
  put_event(buf, 1, IN_CREATE, 0, "abc", 16);
  put_event(buf, 2, IN_DELETE_SELF, 7, "", 0);
  put_event(buf, 3, IN_MOVED_TO | IN_ISDIR, 9, "name", 4); // no NUL at all
  put_event(buf, 4, IN_Q_OVERFLOW, 0, "", 0);
  auto out = decode_inotify(buf.data(), buf.size());
  CAF_CHECK_EQUAL(show(out),
                  (strings{"1 " + std::to_string(IN_CREATE) + " 0 'abc'",
                           "2 " + std::to_string(IN_DELETE_SELF) + " 7 ''",
                           "3 " + std::to_string(IN_MOVED_TO | IN_ISDIR)
                             + " 9 'name'",
                           "4 " + std::to_string(IN_Q_OVERFLOW) + " 0 ''"}));
}

CAF_TEST(decode ignores a truncated trailing record) {
  std::vector<char> whole;
  put_event(whole, 1, IN_CREATE, 0, "abc", 16);
  put_event(whole, 2, IN_DELETE_SELF, 0, "", 0);
  auto two = whole.size();
  put_event(whole, 3, IN_MODIFY, 0, "longer-name", 16);
  struct case_t {
    const char* what;
    size_t len;
    size_t records;
  };
  std::vector<case_t> cases{
    {"empty buffer", 0, 0},
    {"less than a header", sizeof(inotify_event) - 1, 0},
    {"header without its name", sizeof(inotify_event), 0},
    {"header with part of its name", sizeof(inotify_event) + 8, 0},
    {"first record exactly", sizeof(inotify_event) + 16, 1},
    {"two records exactly", two, 2},
    {"two records and part of a header", two + 5, 2},
    {"two records and a header without its name",
     two + sizeof(inotify_event), 2},
    {"two records and part of a name", two + sizeof(inotify_event) + 15, 2},
    {"all three", whole.size(), 3},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto out = decode_inotify(whole.data(), c.len);
    CAF_CHECK_EQUAL(out.size(), c.records);
    if (out.size() >= 2) {
      CAF_CHECK_EQUAL(out[0].name, "abc");
      CAF_CHECK_EQUAL(out[1].wd, 2);
      CAF_CHECK_EQUAL(out[1].name, "");
    }
    if (out.size() == 3)
      CAF_CHECK_EQUAL(out[2].name, "longer-name");
  }
}

#define CAF_SUITE core.error_code
#include <caf/test/unit_test.hpp>

// The ec codes and status: every code has a name that reads back, each
// errno lands in the class the writer's callers act on, and a status keeps
// its code through the context added on the way up.

#include "core/common/error_code.hpp"
#include "core/common/status.hpp"

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

using namespace livesync;

CAF_TEST(every code has its own name and reads back from it) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(last_ec); ++i) {
    auto code = static_cast<ec>(i);
    auto name = to_string(code);
    CAF_MESSAGE(i << " " << name);
    CAF_CHECK(name.rfind("ec(", 0) != 0); // named, not the fallback
    CAF_CHECK(names.insert(name).second);
    auto back = ec_from_string(name);
    CAF_REQUIRE(back);
    CAF_CHECK_EQUAL(static_cast<int>(*back), i);
  }
  CAF_CHECK_EQUAL(names.size(), static_cast<size_t>(last_ec) + 1);
}

CAF_TEST(names are stable: they appear in logs and status --json) {
  struct row {
    ec code;
    const char* name;
  };
  for (auto r : {row{ec::none, "none"}, row{ec::invalid_path, "invalid_path"},
                 row{ec::limit_exceeded, "limit_exceeded"},
                 row{ec::not_found, "not_found"},
                 row{ec::permission_denied, "permission_denied"},
                 row{ec::no_space, "no_space"}, row{ec::io_error, "io_error"},
                 row{ec::hash_mismatch, "hash_mismatch"},
                 row{ec::stale, "stale"}, row{ec::protocol, "protocol"},
                 row{ec::unknown_transfer, "unknown_transfer"},
                 row{ec::not_supported, "not_supported"},
                 row{ec::stopping, "stopping"}, row{ec::conflict, "conflict"},
                 row{ec::unreachable, "unreachable"},
                 row{ec::internal, "internal"}})
    CAF_CHECK_EQUAL(to_string(r.code), r.name);
  // Values are on the wire: a few pinned.
  CAF_CHECK_EQUAL(static_cast<int>(ec::none), 0);
  CAF_CHECK_EQUAL(static_cast<int>(ec::hash_mismatch), 7);
  CAF_CHECK_EQUAL(static_cast<int>(ec::stale), 8);
}

CAF_TEST(unknown names and values) {
  CAF_CHECK(!ec_from_string(""));
  CAF_CHECK(!ec_from_string("Stale"));
  CAF_CHECK(!ec_from_string("ec(200)"));
  // A newer peer's code still prints.
  CAF_CHECK_EQUAL(to_string(static_cast<ec>(200)), "ec(200)");
}

CAF_TEST(syscall error numbers map to the class of the failure) {
  struct row {
    int err;
    ec want;
  };
  for (auto r : {row{0, ec::none},
                 row{ENOENT, ec::not_found},
                 row{EACCES, ec::permission_denied},
                 row{EPERM, ec::permission_denied},
                 row{EROFS, ec::permission_denied},
                 row{ENOSPC, ec::no_space},
                 row{EDQUOT, ec::no_space},
                 row{ENOTDIR, ec::stale},
                 row{EISDIR, ec::stale},
                 row{ENOTEMPTY, ec::stale},
                 row{ELOOP, ec::stale},
                 row{EEXIST, ec::stale},
                 row{ENAMETOOLONG, ec::limit_exceeded},
                 row{EMFILE, ec::limit_exceeded},
                 row{EMLINK, ec::limit_exceeded},
                 row{EFBIG, ec::limit_exceeded},
                 row{EOPNOTSUPP, ec::not_supported},
                 row{EXDEV, ec::not_supported},
                 row{ECONNREFUSED, ec::unreachable},
                 row{ETIMEDOUT, ec::unreachable},
                 row{ENOMEM, ec::internal},
                 row{EIO, ec::io_error},
                 row{EBADF, ec::io_error},
                 row{EINVAL, ec::io_error}}) {
    CAF_MESSAGE(std::strerror(r.err));
    CAF_CHECK_EQUAL(to_string(ec_from_errno(r.err)), to_string(r.want));
  }
}

CAF_TEST(a failed syscall keeps its text and gets its class) {
  auto s = errno_status("a/b: rename into place", ENOSPC);
  CAF_CHECK(!s);
  CAF_CHECK_EQUAL(to_string(s.code()), "no_space");
  CAF_CHECK_EQUAL(s.reason(), std::string{"a/b: rename into place: "}
                                + std::strerror(ENOSPC));
}

CAF_TEST(a status is ok or a coded failure with a detail) {
  status good;
  CAF_CHECK(good.ok());
  CAF_CHECK(static_cast<bool>(good));
  CAF_CHECK_EQUAL(to_string(good.code()), "none");
  CAF_CHECK_EQUAL(good.reason(), "");
  auto bad = status::fail(ec::stale, "x: copy source changed");
  CAF_CHECK(!bad.ok());
  CAF_CHECK_EQUAL(to_string(bad.code()), "stale");
  CAF_CHECK_EQUAL(bad.reason(), "x: copy source changed");
  // No failure without a class, nor without a detail.
  auto none = status::fail(ec::none, "oops");
  CAF_CHECK(!none.ok());
  CAF_CHECK_EQUAL(to_string(none.code()), "internal");
  auto empty = status::fail(ec::no_space, "");
  CAF_CHECK_EQUAL(empty.reason(), "no_space");
}

CAF_TEST(context added on the way up keeps the code) {
  auto inner = status::fail(ec::protocol, "zstd: corrupted");
  auto outer = inner.prefixed("big.bin: ");
  CAF_CHECK_EQUAL(to_string(outer.code()), "protocol");
  CAF_CHECK_EQUAL(outer.reason(), "big.bin: zstd: corrupted");
  CAF_CHECK(status{}.prefixed("x: ").ok());
}

#define CAF_SUITE core.endpoint
#include <caf/test/unit_test.hpp>

#include "core/common/endpoint.hpp"

using namespace livesync;

namespace {

struct row {
  const char* text;
  const char* host; // nullptr: refused
  uint16_t port;
  const char* why;  // a part of the sentence when refused
};

} // namespace

CAF_TEST(one reference address) {
  row rows[] = {
    {"127.0.0.1:4242", "127.0.0.1", 4242, ""},
    {"backup-1.example:1", "backup-1.example", 1, ""},
    {"[::1]:4242", "::1", 4242, ""},
    {"[fe80::1%veth0]:65535", "fe80::1%veth0", 65535, ""},
    {"host", nullptr, 0, "has no port"},
    {":4242", nullptr, 0, "has no host"},
    {"host:", nullptr, 0, "from 1 to 65535"},
    {"host:0", nullptr, 0, "from 1 to 65535"},
    {"host:65536", nullptr, 0, "from 1 to 65535"},
    {"host:42a", nullptr, 0, "from 1 to 65535"},
    {"host:-1", nullptr, 0, "from 1 to 65535"},
    {"::1:4242", nullptr, 0, "in brackets"},
    {"[::1]4242", nullptr, 0, "[address]:port"},
    {"[::1", nullptr, 0, "[address]:port"},
    {"[]:4242", nullptr, 0, "has no host"},
    {"a b:4242", nullptr, 0, "not a host name"},
  };
  for (auto& r : rows) {
    std::string why;
    auto e = parse_endpoint(r.text, why);
    if (r.host == nullptr) {
      CAF_CHECK(!e);
      CAF_CHECK(why.find(r.why) != std::string::npos);
      CAF_CHECK(why.find(r.text) != std::string::npos);
    } else {
      CAF_REQUIRE(e);
      CAF_CHECK_EQUAL(e->host, r.host);
      CAF_CHECK_EQUAL(e->port, r.port);
      CAF_CHECK_EQUAL(e->text(), r.text);
    }
  }
}

CAF_TEST(the references list) {
  std::vector<endpoint> out;
  std::string why;
  CAF_CHECK(parse_endpoints({"a:1", "b:2", "a:2"}, out, why));
  CAF_CHECK_EQUAL(out.size(), 3u);
  CAF_CHECK(!parse_endpoints({}, out, why));
  CAF_CHECK(why.find("empty") != std::string::npos);
  CAF_CHECK(!parse_endpoints({"a:1", "b:2", "A:1"}, out, why));
  CAF_CHECK_EQUAL(why, "\"A:1\" is named twice");
  CAF_CHECK(!parse_endpoints({"a:1", "b"}, out, why));
  CAF_CHECK(why.find("\"b\" has no port") != std::string::npos);
}

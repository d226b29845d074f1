#define CAF_SUITE core.option_errors
#include <caf/test/unit_test.hpp>

#include "core/common/option_errors.hpp"

#include <string>
#include <vector>

using namespace livesync;

CAF_TEST(parser errors read like sentences) {
  struct case_t {
    option_error kind;
    const char* argument;
    const char* type;
    const char* expected;
  };
  std::vector<case_t> cases{
    {option_error::missing_value, "--root", "std::string",
     "options take --key=value: --root=VALUE (not \"--root VALUE\")"},
    {option_error::out_of_range, "--port=99999", "uint16_t",
     "--port=99999: a port is 0-65535"},
    {option_error::malformed, "--port=-1", "uint16_t",
     "--port=-1: a port is 0-65535"},
    {option_error::malformed, "--control-port=x", "uint16_t",
     "--control-port=x: a port is 0-65535"},
    {option_error::out_of_range, "--window-mib=99999999999", "uint32",
     "--window-mib=99999999999: a number from 0 to 4294967295"},
    {option_error::out_of_range, "--n=70000", "uint16_t",
     "--n=70000: a number from 0 to 65535"},
    {option_error::malformed, "--debounce=fast", "timespan",
     "--debounce=fast: a duration such as 500ms, 10s or 2min"},
    {option_error::malformed, "--exclude=x", "std::vector<std::string>",
     "--exclude=x: a value of type std::vector<std::string>"},
    {option_error::unknown_option, "--bogus=1", "",
     "--bogus=1: no such option (--help lists them)"},
    // A peer-free string still gets escaped: it goes to a terminal.
    {option_error::unknown_option, "--x\n=1", "",
     "--x\\n=1: no such option (--help lists them)"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.argument);
    CAF_CHECK_EQUAL(explain_option_error(c.kind, c.argument, c.type),
                    c.expected);
  }
}

// The one translation unit of livesync-test that holds CAF's test engine and
// main(). Every other test file declares its own CAF_SUITE.
#include <caf/test/unit_test_impl.hpp>

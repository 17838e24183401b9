// One test case that skips: the binary must exit with the skip code (see
// tests/support/CMakeLists.txt), which is how ctest tells "Skipped".

#include <catch2/catch.hpp>

#include "support/skip.hpp"

TEST_CASE("a test case that cannot run here") {
  CAIRN_SKIP("the probe always skips");
  FAIL("not reached");
}

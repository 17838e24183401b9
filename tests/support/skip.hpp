#pragma once
// A test that cannot run here (no root, no tool, a sanitizer that does not
// support what it needs) says so instead of passing: CAIRN_SKIP("why") marks
// the running test case skipped and returns from it. A test binary whose
// every test case that ran was skipped exits with k_skip_exit_code, which
// ctest reports as "Skipped" (SKIP_RETURN_CODE, set in tests/CMakeLists.txt).

#include <string>

namespace cairn::testing {

inline constexpr int k_skip_exit_code = 4;

// Marks the running test case skipped, with the reason on stderr.
void mark_skipped(const std::string& reason);

}  // namespace cairn::testing

#define CAIRN_SKIP(reason)                  \
  do {                                      \
    ::cairn::testing::mark_skipped(reason); \
    return;                                 \
  } while (false)

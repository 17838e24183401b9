#include "formats/stix_pattern.hpp"

#include <string>

namespace cairn::formats {

// Preliminary checker: balanced brackets and a non-empty body. Replaced by the
// full recursive-descent parser.
result<void> validate_stix_pattern(std::string_view pattern) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (in_string) {
      if (c == '\\' && i + 1 < pattern.size()) {
        ++i;
      } else if (c == '\'') {
        in_string = false;
      }
      continue;
    }
    if (c == '\'') in_string = true;
    if (c == '[' || c == '(') ++depth;
    if (c == ']' || c == ')') {
      if (--depth < 0) return fail("offset " + std::to_string(i) + ": unbalanced '" + c + "'");
    }
  }
  if (in_string) return fail("offset " + std::to_string(pattern.size()) + ": unterminated string");
  if (depth != 0) return fail("offset " + std::to_string(pattern.size()) + ": unbalanced brackets");
  if (pattern.find('[') == std::string_view::npos) return fail("offset 0: expected '[' or '('");
  return {};
}

}  // namespace cairn::formats

// The TLP resolver: marking ids, level names and objects' object_marking_refs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "formats/json.hpp"
#include "formats/tlp.hpp"

using namespace cairn::formats;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto level = parse_tlp_name(text)) {
    // A parsed name maps to a level whose name parses to the same level.
    if (parse_tlp_name(tlp_name(*level)) != level) std::abort();
  }
  (void)tlp_of_marking(text);
  json_limits limits;
  limits.max_bytes = 1 << 20;
  auto doc = parse_json(text, limits);
  if (!doc) return 0;
  auto level = tlp_of_object(doc->root());
  if (level && static_cast<int>(*level) > static_cast<int>(tlp_level::red)) std::abort();
  // The level is at least the most restrictive TLP marking listed (granular
  // markings may raise it further).
  if (auto refs = doc->root().is_object() ? doc->root().get("object_marking_refs") : std::nullopt;
      refs && refs->is_array()) {
    std::optional<tlp_level> most;
    for (std::size_t i = 0; i < refs->size(); ++i) {
      auto ref = refs->value_at(i);
      if (!ref.is_string()) continue;
      if (auto l = tlp_of_marking(ref.as_string()); l && (!most || *l > *most)) most = l;
    }
    if (most && (!level || *level < *most)) std::abort();
  }
  return 0;
}

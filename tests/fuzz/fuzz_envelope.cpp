// TAXII envelopes and STIX files through parsing and STIX 2.1 validation
// (which includes the STIX pattern validator). Invariants: a valid object's
// minified JSON parses again and validates to the same id, type and version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/json.hpp"
#include "formats/stix.hpp"

using namespace cairn::formats;

namespace {

void check(const parsed_object& p) {
  if (!p.info) return;
  const auto& info = *p.info;
  if (info.id.empty() || info.type.empty()) std::abort();
  auto again = parse_json(info.json);
  if (!again) std::abort();
  auto revalidated = validate_stix_object(again->root());
  if (!revalidated || revalidated->id != info.id || revalidated->type != info.type ||
      revalidated->version != info.version || revalidated->json != info.json) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  json_limits limits;
  limits.max_bytes = 1 << 20;
  limits.max_depth = 64;
  if (auto parsed = parse_envelope(text, limits, 1000)) {
    for (const auto& p : *parsed) check(p);
  }
  if (auto parsed = parse_stix_content(text, limits, 1000)) {
    for (const auto& p : *parsed) check(p);
  }
  return 0;
}

#pragma once
// Synthetic but realistic STIX 2.1 indicators for load tests: IPv4, domain,
// URL and file-hash patterns, TLP 1.0 and 2.0 markings (and some unmarked),
// a producer identity, kill chain phases, and several versions of some
// indicators (same id, later `modified`). Deterministic for a seed; every
// object passes formats::validate_stix_object.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cairn::clients {

struct synthetic_options {
  std::uint64_t seed = 1;
  // Share of objects that are later versions of an earlier indicator.
  double extra_version_share = 0.1;
};

// n objects, minified JSON each; later versions always come after the
// version they replace.
std::vector<std::string> synthetic_indicators(std::size_t n, const synthetic_options& options);

}  // namespace cairn::clients

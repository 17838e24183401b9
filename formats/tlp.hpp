#pragma once
// Traffic Light Protocol levels (TLP 2.0 order, TLP 1.0 WHITE counted as
// CLEAR) and the STIX 2.1 marking-definition ids that carry them.

#include <cstdint>
#include <optional>
#include <string_view>

#include "formats/json.hpp"

namespace cairn::formats {

enum class tlp_level : std::uint8_t { clear = 0, green = 1, amber = 2, amber_strict = 3, red = 4 };

// "clear", "white", "green", "amber", "amber+strict", "red" (case-insensitive).
std::optional<tlp_level> parse_tlp_name(std::string_view name);
// "clear", "green", "amber", "amber+strict", "red".
std::string_view tlp_name(tlp_level level);

// The level of one of the four TLP 1.0 or five TLP 2.0 marking-definition ids;
// std::nullopt for any other id.
std::optional<tlp_level> tlp_of_marking(std::string_view marking_definition_id);

// The most restrictive TLP level among obj's object_marking_refs and the
// marking_refs of its granular_markings (a TLP marking on a part restricts
// the whole object); std::nullopt when none of them is a TLP marking (the
// caller applies its default).
std::optional<tlp_level> tlp_of_object(const json_view& obj);

}  // namespace cairn::formats

#include "formats/tlp.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "formats/ascii.hpp"

namespace cairn::formats {

namespace {

struct marking {
  std::string_view id;
  tlp_level level;
};

constexpr std::array<marking, 9> k_markings{{
    // TLP 1.0 (STIX 2.1 section 7.2.1.4)
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", tlp_level::clear},
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", tlp_level::green},
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", tlp_level::amber},
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", tlp_level::red},
    // TLP 2.0 (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d)
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", tlp_level::clear},
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", tlp_level::green},
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", tlp_level::amber},
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", tlp_level::amber_strict},
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", tlp_level::red},
}};

}  // namespace

std::optional<tlp_level> parse_tlp_name(std::string_view name) {
  const std::string lower = ascii_lower(name);
  if (lower == "clear" || lower == "white") return tlp_level::clear;
  if (lower == "green") return tlp_level::green;
  if (lower == "amber") return tlp_level::amber;
  if (lower == "amber+strict") return tlp_level::amber_strict;
  if (lower == "red") return tlp_level::red;
  return std::nullopt;
}

std::string_view tlp_name(tlp_level level) {
  switch (level) {
    case tlp_level::clear: return "clear";
    case tlp_level::green: return "green";
    case tlp_level::amber: return "amber";
    case tlp_level::amber_strict: return "amber+strict";
    case tlp_level::red: return "red";
  }
  return "red";
}

std::optional<tlp_level> tlp_of_marking(std::string_view id) {
  // Ids are case-exact in STIX, but UUID hex digits may come in upper case.
  const std::string lower = ascii_lower(id);
  for (const auto& m : k_markings) {
    if (m.id == lower) return m.level;
  }
  return std::nullopt;
}

std::optional<tlp_level> tlp_of_object(const json_view& obj) {
  std::optional<tlp_level> worst;
  auto consider = [&](const json_view& ref) {
    if (!ref.is_string()) return;
    if (auto level = tlp_of_marking(ref.as_string())) {
      if (!worst || *level > *worst) worst = level;
    }
  };
  if (auto refs = obj.get("object_marking_refs"); refs && refs->is_array()) {
    for (std::size_t i = 0; i < refs->size(); ++i) consider(refs->value_at(i));
  }
  // A TLP marking on part of the object restricts the whole of it: the
  // object is delivered whole or not at all, never with a part redacted.
  if (auto granular = obj.get("granular_markings"); granular && granular->is_array()) {
    for (std::size_t i = 0; i < granular->size(); ++i) {
      auto m = granular->value_at(i);
      if (!m.is_object()) continue;
      if (auto ref = m.get("marking_ref")) consider(*ref);
    }
  }
  return worst;
}

}  // namespace cairn::formats

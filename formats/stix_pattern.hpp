#pragma once
// STIX 2.1 patterning (STIX 2.1 section 9): a parser that follows the grammar
// of STIXPattern.g4 plus the semantic checks the specification adds
// (one qualifier of each kind per observation expression, hash lengths,
// lower-case property names, constants that are well-formed).

#include <string_view>

#include "formats/error.hpp"

namespace cairn::formats {

// Ok, or an error whose message says what is wrong and where
// ("offset 13: expected a constant after '='").
// Pure function, safe from any thread. Time is linear in the pattern's
// length, which the caller bounds; brackets and parentheses may nest at most
// 64 levels. Semantic errors use the OASIS validator's wording
// ("offset 1: 'f00' is not a valid SHA-256 hash").
result<void> validate_stix_pattern(std::string_view pattern);

}  // namespace cairn::formats

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
//
// With `stix_names`, the object types and first properties a pattern names
// must also be STIX names of at least 3 characters (STIX 2.1 section 3.1;
// "id" is the one shorter property): the rule for an indicator's pattern.
// The bare grammar, and the pattern validator's own cases, allow shorter.
result<void> validate_stix_pattern(std::string_view pattern, bool stix_names = false);

}  // namespace cairn::formats

#pragma once
// STIX 2.1 patterning (STIX 2.1 section 9): a parser that follows the grammar
// of STIXPattern.g4 plus the semantic checks the specification adds
// (one qualifier of each kind per observation expression, hash lengths,
// lower-case property names, constants that are well-formed).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// The parsed pattern, for code that reads what a pattern says (the
// observable index, formats/observables.hpp): the same parser and the same
// checks as validate_stix_pattern(), with the tree kept.

// One step of an object path after the object type: a key (the first
// property, a '.' key; unescaped) or a list index ("*", "0", "-1").
struct pattern_path_step {
  bool index = false;
  std::string name;
  bool operator==(const pattern_path_step&) const = default;
};

enum class pattern_constant_kind : std::uint8_t {
  string,
  integer,
  floating,
  boolean,
  hex,
  binary,
  timestamp
};

// A constant: a string's value unescaped (\' and \\); every other kind as
// written (h'..', b'..', t'..' with their prefix and quotes).
struct pattern_constant {
  pattern_constant_kind kind = pattern_constant_kind::string;
  std::string text;
};

enum class pattern_operator : std::uint8_t {
  eq,
  neq,
  lt,
  le,
  gt,
  ge,
  in,
  like,
  matches,
  issubset,
  issuperset,
  exists
};

struct pattern_comparison {
  std::string object_type;
  std::vector<pattern_path_step> path;
  pattern_operator op = pattern_operator::eq;
  bool negated = false;                     // NOT before the operator (or before EXISTS)
  std::vector<pattern_constant> constants;  // one; a set's items for IN; none for EXISTS
};

enum class pattern_qualifier_kind : std::uint8_t { within, repeats, start_stop };

struct pattern_qualifier {
  pattern_qualifier_kind kind = pattern_qualifier_kind::within;
  std::vector<std::string> arguments;  // the constants as written
};

// A node of the pattern. Comparison expressions (inside one '[...]') are
// comparison / comparison_and / comparison_or; an `observation` is one
// '[...]' with its comparison expression as only child; observation_and,
// observation_or and followed_by join observation expressions. Chains of one
// operator are flat (n children, left to right); parentheses leave no node
// of their own. Qualifiers belong to the observation expression they follow
// (an observation, or a parenthesised join).
struct pattern_node {
  enum class kind : std::uint8_t {
    comparison,
    comparison_and,
    comparison_or,
    observation,
    observation_and,
    observation_or,
    followed_by,
  };
  kind type = kind::comparison;
  pattern_comparison comparison;  // kind::comparison only
  std::vector<pattern_node> children;
  std::vector<pattern_qualifier> qualifiers;
};

// The tree of a pattern that validate_stix_pattern() accepts, or its error.
result<pattern_node> parse_stix_pattern(std::string_view pattern, bool stix_names = false);

}  // namespace cairn::formats

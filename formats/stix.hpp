#pragma once
// STIX 2.1 identifiers and object validation (STIX 2.1 sections 2, 3, 4-7),
// and the TAXII envelope that carries objects in a POST (TAXII 2.1 3.7).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/json.hpp"
#include "formats/tlp.hpp"

namespace cairn::formats {

// RFC 4122 UUID text, any version ("8c6af861-7b20-41ef-9b59-6344fd872a8f",
// hex case-insensitive).
bool is_uuid(std::string_view text);
// A UUID whose version nibble is 4 and variant is RFC 4122 (TAXII identifier).
bool is_uuid_v4(std::string_view text);
// "<type>--<uuid>" with a valid type name and a UUID whose version nibble is
// 1-5 and variant nibble 8, 9, a or b (STIX 2.1 2.9).
bool is_stix_id(std::string_view text);
// The type part of a STIX id ("indicator" of "indicator--..."); empty if none.
std::string_view stix_id_type(std::string_view id);
// A random UUIDv4 from the OS CSPRNG.
std::string new_uuid_v4();

// What a valid object tells the server.
struct stix_object_info {
  std::string id;
  std::string type;
  std::string version;           // modified, else created, else empty
  std::string spec_version;      // "2.1" (an SCO without spec_version counts as 2.1)
  std::optional<tlp_level> tlp;  // from object_marking_refs; nullopt = unmarked
  std::string json;              // minified serialisation of the object
};

// Validates one STIX 2.1 object: common properties (S 3.2), identifier,
// timestamps, the required properties of every SDO, SRO, SCO, marking,
// language-content and extension-definition type, STIX patterns of
// pattern_type "stix", and the rules of S 10 vocabularies that are closed
// enums. The error message names the property and says what is wrong;
// error.where is a JSON pointer relative to the object ("/created").
// Unknown (custom) types are accepted when their common properties are valid.
result<stix_object_info> validate_stix_object(const json_view& obj);

// One entry of a parsed envelope or file: a valid object, or why it is not.
struct parsed_object {
  std::optional<stix_object_info> info;  // set when valid
  std::string id;                        // best effort, for the status failure list ("" if none)
  std::string version;                   // best effort
  error problem;                         // when !info
};

// Parses a TAXII envelope ({"objects": [...]}, other members ignored) and
// validates each object. Fails as a whole (422 territory) when the text is not
// JSON, not an object, has no "objects" array, or holds more than
// max_objects objects; single bad objects only become failed entries.
result<std::vector<parsed_object>> parse_envelope(std::string_view text, const json_limits& limits,
                                                  std::size_t max_objects);

// For files and stdin (publish, demo): a STIX bundle, a TAXII envelope, a
// JSON array of objects, a single object, or JSON lines (one object a line).
result<std::vector<parsed_object>> parse_stix_content(std::string_view text,
                                                      const json_limits& limits,
                                                      std::size_t max_objects);

}  // namespace cairn::formats

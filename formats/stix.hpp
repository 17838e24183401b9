#pragma once
// STIX 2.1 identifiers and object validation (STIX 2.1 sections 2, 3, 4-7),
// and the TAXII envelope that carries objects in a POST (TAXII 2.1 3.7).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/json.hpp"
#include "formats/observables.hpp"
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
// A random UUIDv4 (lower case) from OpenSSL's CSPRNG. Throws
// std::runtime_error if the generator fails, which OpenSSL only does when it
// cannot be seeded at all.
std::string new_uuid_v4();

// What a valid object tells the server.
struct stix_object_info {
  std::string id;
  std::string type;
  std::string version;           // modified, else created, else empty
  std::string spec_version;      // "2.1" (an SCO without spec_version counts as 2.1)
  std::optional<tlp_level> tlp;  // from object_marking_refs; nullopt = unmarked
  std::string json;              // minified serialisation of the object
  // What observables_of() finds in the object, read from the trees the
  // validation parsed (the JSON, an indicator's pattern), so publishing
  // never parses the object again.
  std::vector<observable> observables;
};

// Validates one STIX 2.1 object: common properties (S 3.2), identifier,
// timestamps, the required properties of every SDO, SRO, SCO, marking,
// language-content and extension-definition type, STIX patterns of
// pattern_type "stix", and the rules of S 10 vocabularies that are closed
// enums. The error message names the property and says what is wrong;
// error.where is a JSON pointer relative to the object ("/created").
// Unknown (custom) types are accepted when their common properties are valid
// (created and modified included, unless the object declares an extension of
// extension_type "new-sco").
//
// Beyond the required properties, it enforces: spec_version "2.1" (an SDO,
// SRO or meta object without it, or a custom object with created/modified but
// no spec_version, is refused as STIX 2.0); ids per the schema (version digit
// 1-5, variant 8/9/a/b, prefix = type); property names a-z 0-9 _ (3-250,
// starting with a letter; also the members of extensions) and none of the
// reserved names of S 3.8; created/modified with >= 3 fraction digits
// (marking-definition: none), and modified >= created; no empty list anywhere;
// *_ref/*_refs hold STIX ids, *_hex / *_bin are hex / base64 and *_enc an
// IANA character set name (not inside dictionaries such as hashes or
// observed-data "objects"); hashes keys of 3-250 characters, and hashes of
// known algorithms have their length; timestamps wherever the spec defines
// them (extensions and observed-data "objects" included); the value syntax
// of ipv4-addr, ipv6-addr, url, email-addr, mac-addr, windows-registry-key
// key, software cpe, the cve/capec external reference ids and the language
// tags (lang, granular markings' lang, language-content contents keys);
// reference targets where the spec fixes them (created_by_ref -> identity,
// relationship endpoints are not SROs or meta objects, sighting_of_ref is an
// SDO, ...); the value rules of STIX 2.1 sections 4-7 (valid_until >
// valid_from, last_seen >= first_seen, ranges of counts, ports, confidence);
// the closed enumerations of section 10; the predefined SCO extensions'
// required properties; observed-data object_refs point at SCOs or SROs
// (at least one SCO); each entry of observed-data's deprecated objects is
// checked as an SCO of its type (no id or spec_version needed) whose
// references name keys of that dictionary; granular marking selectors
// resolve to a property or list item present in the object (S 7.2.3.1);
// a marking-definition does not mark itself; extension_properties only
// with a toplevel-property-extension; language-content keys per language
// are property names; network-traffic end >= start; directory and
// archive-ext contains_refs name files or directories, and the other
// references whose target types S 4.11, 4.12 and 6 fix point at those types; software languages
// are ISO 639-2 codes; an artifact's url is a URL; *_enc names come from
// the IANA Character Sets registry (names and aliases); types and first
// properties named in an indicator's STIX pattern have 3+ characters; and
// that the fixed TLP 1.0 / 2.0 marking-definition ids carry exactly the
// published TLP object (every property, compared as parsed JSON; a TLP 1.0
// object may leave out its optional name, as STIX 2.0 published it), while
// TLP is never defined under any other id. Only the first problem found is
// reported.
//
// Thread-safe: no shared state. obj is only read.
result<stix_object_info> validate_stix_object(const json_view& obj);

// One entry of a parsed envelope or file: a valid object, or why it is not.
struct parsed_object {
  std::optional<stix_object_info> info;  // set when valid
  std::string id;                        // best effort, for the status failure list ("" if none)
  std::string version;                   // best effort
  error problem;                         // when !info; problem.where is relative to the object
};

// Parses a TAXII envelope ({"objects": [...]}, other members ignored) and
// validates each object. Fails as a whole (422 territory) when the text is not
// JSON, not an object, has no "objects" array, or holds more than
// max_objects objects; single bad objects only become failed entries.
result<std::vector<parsed_object>> parse_envelope(std::string_view text, const json_limits& limits,
                                                  std::size_t max_objects);

// For files and stdin (publish, demo): a STIX bundle, a TAXII envelope, a
// JSON array of objects, a single object, or JSON lines (one object a line).
// Fails as a whole when the text is none of these: not JSON (JSON lines are
// recognised when the text is not one JSON document and its first non-blank
// line is a JSON object on its own; a bad later line fails as "line N: ..."),
// a bundle without a "bundle--<UUID>" id, an object with "objects" and an
// "id" but no "type": "bundle" (a broken bundle, not an envelope), or more
// than max_objects objects. limits apply to the whole text and to each line.
result<std::vector<parsed_object>> parse_stix_content(std::string_view text,
                                                      const json_limits& limits,
                                                      std::size_t max_objects);

}  // namespace cairn::formats

#pragma once
// TAXII 2.1 query parameters (TAXII 3.4, 3.5): parsing, validation and the
// opaque `next` page tokens.
//
// Pure functions; no I/O. A malformed parameter is an error whose message is
// meant for the client (it becomes the description of a 400).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/time.hpp"

namespace cairn::server {

using formats::micros;

// match[version]: default `last`.
struct version_filter {
  bool all = false;
  bool first = false;
  bool last = false;
  std::vector<std::string> time_keys{};  // formats::stix_time_key of exact timestamps
};

struct taxii_query {
  std::optional<micros> added_after;
  std::size_t limit = 0;  // already clamped to the server's page size
  std::string next;       // empty = none
  std::vector<std::string> ids;
  std::vector<std::string> types;
  version_filter versions;
  std::vector<std::string> spec_versions;  // empty = newest held (2.1)

  // A canonical text of the filters (not limit, not next), to bind tokens to.
  std::string filter_binding() const;
};

// Decodes "%XX" and '+' (as space, per HTML forms); fails on bad escapes.
result<std::string> percent_decode(std::string_view s);

// Splits and decodes a query string ("a=1&match[id]=x") into pairs.
// Each parameter may appear at most once (TAXII 3.4.1): a repeat is an error.
result<std::vector<std::pair<std::string, std::string>>> parse_query_string(std::string_view q);

// Parses the TAXII filters of a query string. Unknown parameters are ignored
// (TAXII 3.4.1 allows it). limit: an integer > 0, reduced to page_size.
result<taxii_query> parse_taxii_query(std::string_view query_string, std::size_t page_size);

// Signs and checks `next` tokens: base64url of the position (date_added of
// the last record examined) and an HMAC-SHA-256 over the position and a
// binding (account, path, filters); the position is masked with a key derived
// from that MAC, so a token does not reveal it. A token made for another
// account, path or filter set, or altered in any bit, does not decode.
class page_token_codec {
 public:
  explicit page_token_codec(std::string key);
  std::string encode(micros position, std::string_view binding) const;
  std::optional<micros> decode(std::string_view token, std::string_view binding) const;

 private:
  std::string key_;
};

}  // namespace cairn::server

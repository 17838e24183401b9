#pragma once
// Readers of TAXII 2.1 resources (TAXII 2.1 sections 4, 5), the other half of
// formats/taxii.hpp: what a client of any TAXII 2.1 server receives, as the
// formats types. Pure functions; any thread.
//
// Lenient where servers differ: missing optional members are left empty (a
// TAXII 2.0 server's bare-id status entries are read as ids). Strict where a
// client would otherwise guess: a present member of the wrong type, a
// collection without "id" or a status without "id"/"status" is an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/taxii.hpp"

namespace cairn::formats {

// Each *_info is the resource as written by formats/taxii.hpp, with what
// servers add beyond it, and the resource itself (minified) in json.
struct discovery_info : discovery_resource {
  std::string json;
};

struct api_root_info : api_root_resource {
  std::vector<std::string> versions;
  std::string json;
};

struct collection_info : collection_resource {
  std::vector<std::string> media_types;
  std::string json;
};

// A status as the server wrote it: counts are the server's, which may list
// fewer details than it counts (the lists are optional in TAXII 4.3.1).
struct status_info {
  std::string id;
  std::string status;  // "complete" or "pending"
  std::string request_timestamp;
  std::int64_t total_count = 0;
  std::int64_t success_count = 0;
  std::int64_t failure_count = 0;
  std::int64_t pending_count = 0;
  std::vector<status_detail> successes;
  std::vector<status_detail> failures;
  std::vector<status_detail> pendings;
  std::string json;

  bool complete() const { return status == "complete"; }
};

// Pages of the envelope, manifest and versions resources. date_added_first and
// date_added_last come from the response's X-TAXII-Date-Added-First/-Last
// headers (TAXII 3.3), which the readers do not see: they leave them empty.
struct envelope_page {
  bool more = false;
  std::string next;
  std::vector<std::string> objects;  // each object minified
  std::string date_added_first;
  std::string date_added_last;
  std::size_t body_bytes = 0;  // size of the resource read
};

struct manifest_record {
  std::string id;
  std::string date_added;
  std::string version;
  std::string media_type;
};

struct manifest_page {
  bool more = false;
  std::string next;
  std::vector<manifest_record> objects;
  std::string date_added_first;
  std::string date_added_last;
};

struct versions_page {
  bool more = false;
  std::string next;
  std::vector<std::string> versions;
  std::string date_added_first;
  std::string date_added_last;
};

result<discovery_info> read_discovery(std::string_view json);
result<api_root_info> read_api_root(std::string_view json);
result<std::vector<collection_info>> read_collections(std::string_view json);
result<collection_info> read_collection(std::string_view json);
result<envelope_page> read_envelope(std::string_view json);
result<status_info> read_status(std::string_view json);
result<manifest_page> read_manifest(std::string_view json);
result<versions_page> read_versions(std::string_view json);

}  // namespace cairn::formats

#pragma once
// TAXII 2.1 resources (TAXII 2.1 sections 3.6, 3.7, 4, 5): the one place that
// knows their JSON shape. Each function returns the minified JSON text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/json.hpp"
#include "formats/time.hpp"

namespace cairn::formats {

inline constexpr std::string_view taxii_media_type = "application/taxii+json;version=2.1";
inline constexpr std::string_view stix_media_type = "application/stix+json;version=2.1";

struct discovery_resource {
  std::string title;
  std::string description;
  std::string contact;
  std::string default_root;  // URL; empty = absent
  std::vector<std::string> api_roots;
};
std::string write_discovery(const discovery_resource& d);

struct api_root_resource {
  std::string title;
  std::string description;
  std::int64_t max_content_length = 0;
};
std::string write_api_root(const api_root_resource& r);

struct collection_resource {
  std::string id;
  std::string title;
  std::string description;
  std::string alias;
  bool can_read = false;
  bool can_write = false;
};
void write_collection(json_writer& w, const collection_resource& c);
std::string write_collection(const collection_resource& c);
std::string write_collections(const std::vector<collection_resource>& cs);

// One entry of a status resource's successes, failures or pendings (TAXII
// 4.3.1 status-details); the one type storage, server and clients use.
struct status_detail {
  std::string id;
  std::string version;
  std::string message;
};
struct status_resource {
  std::string id;
  bool complete = true;
  micros request_timestamp = 0;
  std::vector<status_detail> successes;
  std::vector<status_detail> failures;
  std::vector<status_detail> pendings;
};
std::string write_status(const status_resource& s);

// The error resource: http_status is written as a string (TAXII 3.6.1).
std::string write_error(int http_status, std::string_view title, std::string_view description);

// Streams an envelope, a manifest or a versions resource page. Empty lists are
// left out (TAXII 2), as is `next` when empty.
class envelope_writer {
 public:
  envelope_writer();
  // Room for `count` objects of json_bytes in all (and the envelope around
  // them), so that a page's body is allocated once, not grown object by object.
  void reserve(std::size_t json_bytes, std::size_t count);
  void add_object(std::string_view json);  // a stored, minified STIX object
  std::string finish(bool more, std::string_view next);

 private:
  json_writer w_;
  bool any_ = false;
};

class manifest_writer {
 public:
  manifest_writer();
  void add(std::string_view id, micros date_added, std::string_view version,
           std::string_view media_type = stix_media_type);
  std::string finish(bool more, std::string_view next);

 private:
  json_writer w_;
  bool any_ = false;
};

class versions_writer {
 public:
  versions_writer();
  void add(std::string_view version);
  std::string finish(bool more, std::string_view next);

 private:
  json_writer w_;
  bool any_ = false;
};

}  // namespace cairn::formats

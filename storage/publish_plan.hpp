#pragma once
// What a publish does, decided before anything is written: which objects
// fail and why, which are duplicates (of which version), which are stored,
// with their later_copy / id_copy flags, their date_added positions and
// versions, the status and the audit record's objects. store.hpp states the
// rules; every backend applies them through plan_publish(), so that they
// answer alike.
//
// Pure: the stored versions come through a lookup the backend provides
// (its snapshot inside the write transaction), and nothing is written here.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "storage/store.hpp"

namespace cairn::storage {

// Limits of what one publish may hold (as the LMDB store's codec): an object
// over them is a failure in the status; a publisher or status id over them
// fails the whole job.
inline constexpr std::size_t max_object_id_bytes = 300;
inline constexpr std::size_t max_version_bytes = 64;
inline constexpr std::size_t max_spec_version_bytes = 32;
inline constexpr std::size_t max_publisher_bytes = 1024;
inline constexpr std::size_t max_status_id_bytes = 256;

// One live stored version of an id, as the lookup passes it. The record's
// views need only last for the call.
struct stored_version_view {
  object_record record;
  std::string_view time_key;  // formats::stix_time_key(record.version)
};

// Calls fn for each live version of `id` in the request's collection, in
// versions() order (time_key, then date_added), until fn returns false.
using stored_versions_fn = std::function<void(
    std::string_view id, const std::function<bool(const stored_version_view&)>& fn)>;

struct publish_plan {
  // A version to store, in date_added order.
  struct version {
    std::size_t index = 0;  // into publish_request::objects
    micros date_added = 0;
    std::string version;   // as published, or assigned (a TAXII timestamp of date_added)
    std::string time_key;  // formats::stix_time_key(version)
    bool later_copy = false;
    bool id_copy = false;
  };
  std::vector<version> added;
  // As store::publish() reports it (status: the request's, with the added
  // versions by position first, then the request's own successes and the
  // duplicates, and the failures appended).
  publish_outcome outcome;
  // The publish record's objects: added versions by position, then the
  // rest of the successes.
  std::vector<formats::audit_object> recorded;
  // The collection's last position given out after this publish (the
  // argument when nothing was added).
  micros last_added = 0;
};

// Decides one publish into a collection whose last position given out is
// last_added, at time now. Fails (the whole job) only for a publisher or
// status id over its limit.
result<publish_plan> plan_publish(const publish_request& req, micros now, micros last_added,
                                  const stored_versions_fn& stored);

}  // namespace cairn::storage

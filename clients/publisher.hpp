#pragma once
// `cairn publish`: validate STIX content locally, split it into envelopes that
// fit the API root's max_content_length and a per-request object count, post
// them, wait for each status and account for every object.
//
// Threads: one publisher per taxii_client, one thread. Errors: run() fails only
// when nothing can be attempted (the API root cannot be read); everything else
// becomes per-object outcomes.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clients/progress_meter.hpp"
#include "clients/taxii_client.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

// How objects (minified JSON texts) go into envelopes {"objects":[a,b,...]}:
// consecutive ranges [first, last) in input order, each envelope at most
// max_bytes long and at most max_count objects. An object that cannot fit even
// alone is listed in too_large and sent nowhere.
struct batch_plan {
  std::vector<std::pair<std::size_t, std::size_t>> batches;
  std::vector<std::size_t> too_large;
};
batch_plan plan_batches(const std::vector<std::string_view>& objects, std::size_t max_bytes,
                        std::size_t max_count);

// The envelope text of objects[first, last).
std::string make_envelope(const std::vector<std::string_view>& objects, std::size_t first,
                          std::size_t last);

// One input: a name for messages ("report.json", "-") and its text.
struct publish_input {
  std::string name;
  std::string text;
};

enum class outcome_kind { succeeded, failed, pending, invalid, not_sent };

struct object_outcome {
  std::string id;
  std::string version;
  std::string source;  // input name, and for invalid objects "name: object N"
  outcome_kind kind = outcome_kind::failed;
  std::string message;
};

struct publish_report {
  std::vector<object_outcome> outcomes;
  std::vector<std::string> status_ids;
  std::size_t requests = 0;
  std::size_t bytes_sent = 0;
  std::string request_error;  // why sending stopped early, if it did

  std::size_t count(outcome_kind kind) const;
  bool all_succeeded() const;
};

struct publish_settings {
  std::size_t max_objects_per_request = 1000;
  std::chrono::seconds status_wait{600};
  // Used when the API root does not say (it must, T 4.2.1).
  std::size_t default_max_content_length = 10u << 20;
};

class publisher {
 public:
  publisher(taxii_client& client, publish_settings settings, progress_meter* progress = nullptr);

  // Parses and validates every input (bad files and objects become invalid
  // outcomes), then sends. api_root is a path ("/sharing/").
  result<publish_report> run(std::string_view api_root, std::string_view collection,
                             const std::vector<publish_input>& inputs);

 private:
  taxii_client& client_;
  publish_settings settings_;
  progress_meter* progress_;
};

std::string_view outcome_name(outcome_kind kind);

}  // namespace cairn::clients

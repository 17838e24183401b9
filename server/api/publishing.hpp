#pragma once
// The one way server/ publishes (POST .../objects/ and the demo's sample
// data): builds the store's request under the sharing policy and stores it
// with its audit record, in one transaction.

#include <functional>
#include <string>
#include <vector>

#include "formats/error.hpp"
#include "formats/stix.hpp"
#include "formats/tlp.hpp"
#include "server/auth/accounts.hpp"
#include "storage/store.hpp"

namespace cairn::server {

struct publication {
  const account* publisher = nullptr;  // required
  storage::collection_key key = 0;
  std::string api_root;
  formats::tlp_level default_tlp = formats::tlp_level::amber;  // the collection's
};

// The request for parsed objects: the valid ones to store (their TLP, else
// the default), the invalid ones as failures of a new status owned by the
// publisher, only versions the publisher may receive counting as
// duplicates, and a commit of its own when it sends versions above its
// clearance.
storage::publish_request publish_request_for(const publication& p,
                                             std::vector<formats::parsed_object> parsed);

// Stores the request with its audit record (the publish record commits
// with the objects, or neither does). done runs on the store's writer.
void publish(storage::store& store, const publication& p,
             std::vector<formats::parsed_object> parsed, storage::audit_entry record,
             std::function<void(result<storage::publish_outcome>)> done);

}  // namespace cairn::server

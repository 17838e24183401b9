#pragma once
// What an endpoint of the API knows of the request it answers, once the
// router has authenticated the caller and resolved its API root and
// collection: shared by the TAXII and the audit services.

#include <string>
#include <string_view>

#include "server/api/exchange.hpp"
#include "server/transport/http.hpp"
#include "storage/store.hpp"

namespace cairn::server {

// One authenticated request, as the endpoints see it.
struct taxii_call {
  exchange& ex;
  const snapshot& snap;
  const account& who;
  const request& req;
  std::string_view path;   // without the query
  std::string_view query;  // after '?', may be empty
  std::string_view root;   // API root name
  const api_root_config* root_cfg = nullptr;
  const collection_config* collection = nullptr;  // resolved id or alias
  storage::collection_key key = 0;
  std::string object_id;
  respond_fn respond;
  std::string remote{};  // the peer's address, for the audit record
  // When set, the endpoints add every object version the response carries
  // (see audit_service::pull).
  storage::audit_delivery* delivered = nullptr;
};

}  // namespace cairn::server

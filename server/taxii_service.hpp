#pragma once
// The TAXII 2.1 endpoints (TAXII 2.1 sections 4 and 5). The router has already
// authenticated the caller, negotiated media types and resolved the API root
// and collection; each function here applies rights and the sharing policy and
// produces the response. Synchronous except add_objects and delete_object,
// which answer through respond after the durable commit.

#include <string_view>

#include "server/exchange.hpp"
#include "server/http.hpp"
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

class taxii_service {
 public:
  static response discovery(const taxii_call& c);
  static response api_root(const taxii_call& c);
  static response status(const taxii_call& c, std::string_view status_id);
  static response collections(const taxii_call& c);
  static response collection(const taxii_call& c);
  static response get_objects(const taxii_call& c);
  static response manifest(const taxii_call& c);
  static response get_object(const taxii_call& c);
  static response versions(const taxii_call& c);
  static void add_objects(taxii_call c);
  static void delete_object(taxii_call c);
};

}  // namespace cairn::server

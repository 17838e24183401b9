#pragma once
// The TAXII 2.1 endpoints (TAXII 2.1 sections 4 and 5). The router has already
// authenticated the caller, negotiated media types and resolved the API root
// and collection; each function here applies rights and the sharing policy and
// produces the response. Synchronous except add_objects and delete_object,
// which answer through respond after the durable commit.

#include <string_view>

#include "server/api/call.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

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

#pragma once
// What an auditor sees of the sharing record (INTERFACE.md "Auditors"),
// shared by the audit query and the reports built on it: an auditor whose
// read list names collections sees the records of those collections and
// those that name none; other collections do not exist for it, so a filter
// naming one finds nothing (and no error says more).

#include <optional>
#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "storage/store.hpp"

namespace cairn::server {

struct snapshot;
struct account;

// The auditor's scope, when its read list names collections.
std::optional<storage::audit_scope> audit_scope_of(const snapshot& snap, const account& who);

// A `collection` filter: an id, or an alias that names one collection.
struct audit_collection_filter {
  std::string id;             // the collection id to filter on
  bool out_of_scope = false;  // names nothing the auditor may see: the answer is empty
};
// Fails (the 400's text) for an alias naming collections in several API
// roots, or an id over 256 bytes.
result<audit_collection_filter> audit_collection_of(const snapshot& snap, const account& who,
                                                    std::string_view text);

}  // namespace cairn::server

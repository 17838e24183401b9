#pragma once
// What the auditor endpoints share: their parameters, and what an auditor
// sees of the sharing record (INTERFACE.md "Auditors"): an auditor whose
// read list names collections sees the records of those collections and
// those that name none; other collections do not exist for it, so a filter
// naming one finds nothing (and no error says more).

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "formats/time.hpp"
#include "storage/store.hpp"

namespace cairn::server {

struct snapshot;
struct account;

// The query's parameters, each one of `names`, given at most once and at
// most 1024 bytes long; the error is the 400's text.
result<std::map<std::string, std::string>> audit_params(
    std::string_view query, std::initializer_list<std::string_view> names);

// The `since` and `until` parameters (RFC 3339), when given; the error is
// the 400's text.
result<void> audit_time_window(const std::map<std::string, std::string>& params,
                               std::optional<formats::micros>& since,
                               std::optional<formats::micros>& until);

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

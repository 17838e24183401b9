#pragma once
// What a whole store consists of, as a stream of parts: the interface
// between a store's dump (storage/lmdb_dump.hpp) and a store being filled
// from it (pg_importer in storage/postgres_store.hpp), for cairnd migrate.
//
// Order: collection() for every collection first; then versions, statuses,
// audit records (seq 1, 2, ... without gaps) and checkpoints, in any
// interleaving. A failed call ends the transfer.

#include <string_view>

#include "formats/audit_record.hpp"
#include "formats/error.hpp"
#include "storage/store.hpp"

namespace cairn::storage {

class store_sink {
 public:
  virtual ~store_sink() = default;
  // A collection by its name ("<api root>/<collection id>") and its key.
  virtual result<void> collection(std::string_view name, collection_key key) = 0;
  // One live version, with its collection key, date_added, publisher and
  // later_copy / id_copy flags as stored.
  virtual result<void> version(const object_record& v) = 0;
  // One unexpired status resource and when it was stored.
  virtual result<void> status(const status_record& s, micros stored_at) = 0;
  // One audit record as INTERFACE JSON (with prev and hash).
  virtual result<void> audit_record(std::string_view record_json) = 0;
  // One signed checkpoint (oldest first).
  virtual result<void> checkpoint(const formats::audit_checkpoint& c) = 0;
};

}  // namespace cairn::storage

#pragma once
// storage/ only: what the object store shares with the rest of storage/ (the
// audit log), which keeps its own databases in the same LMDB environment and
// writes through the same writer, so that an object write and its audit
// record share one commit and many audit records share one fsync.
//
// Everything here lives as long as the object_store that handed it out.
// Readers must hold a share of guard for the life of each read txn (see
// map_guard.hpp); writes go through writer jobs only.

#include <functional>
#include <memory>
#include <string>

#include "storage/lmdb.hpp"
#include "storage/map_guard.hpp"
#include "storage/object_store.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

struct store_access {
  lmdb::env* env = nullptr;
  map_guard* guard = nullptr;
  storage::writer* writer = nullptr;
  // The objects database of a collection, or a zero handle when the key is
  // unknown; valid in every txn that began after the key was handed out.
  std::function<lmdb::dbi(collection_key)> objects;
  // The store's clock (the test seam of store_faults, else the wall clock).
  std::function<micros()> clock;
  std::shared_ptr<store_faults> faults;
  std::string path;  // the store's directory
};

}  // namespace cairn::storage

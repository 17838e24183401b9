#pragma once
// A consistent copy of an LMDB store, taken while a cairnd may be serving it
// (`cairnd backup`).
//
// The store is opened read-only through LMDB's own reader table (lock.mdb),
// not the directory lock a running cairnd holds: the copy is one read
// snapshot, and the running writer keeps every page of that snapshot until
// the copy ends, so publishes go on meanwhile and the copy holds each commit
// whole or not at all. The copy is compacted (free pages left out), written
// with mode 0600 and synced before this returns.
//
// No LMDB type appears here: server/ calls it through this header.

#include <cstdint>
#include <string>

#include "formats/error.hpp"

namespace cairn::storage {

struct backup_outcome {
  std::uint64_t bytes = 0;  // size of the copy's data.mdb
};

// Copies the store in store_path (data_dir/store) into dest_path, a directory
// that must exist and hold no data.mdb; dest_path gets data.mdb and an empty
// cairn.lock (LMDB makes lock.mdb when the copy is opened).
result<backup_outcome> backup_lmdb_store(const std::string& store_path,
                                         const std::string& dest_path);

}  // namespace cairn::storage

#pragma once
// The embedded backend of the storage seam (store.hpp): objects, statuses
// and the audit log in one LMDB environment under a data directory, with
// one writer thread that batches queued writes into a single durable commit
// (group commit). A publish or a delete and its audit record are one write
// job in one transaction.
//
// Durability: commits are synchronous. A callback that reports success
// means the data is on disk. When the map is full, the batch is aborted,
// the map grown (up to max_map_size) and the batch re-run; nothing is
// half-written. At max_map_size, the writes that do not fit fail with
// "storage full"; reads and smaller writes go on.
//
// Deadlock rule (store.hpp): a thread holding a reader must not block
// waiting for the writer (collection(), or a write's callback): growing the
// map waits for every reader to end.
//
// Secrets: the audit signing key is a file beside the store (mode 0600);
// records never hold a password, token or key.
//
// No LMDB type appears here: server/ opens the store through this header
// and uses it through store.hpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "storage/lmdb_options.hpp"
#include "storage/store.hpp"

namespace cairn::storage {

// Opens (creating or migrating if needed) the store in options.path, takes
// its directory lock (one process per store), clears stale reader slots,
// starts the writer, opens the audit log (loading or creating its key) and
// signs a checkpoint if the log grew after its last one (a crash).
result<std::unique_ptr<store>> open_lmdb_store(const lmdb_store_options& options);

}  // namespace cairn::storage

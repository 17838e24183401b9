#pragma once
// Test seams of the object store: fault injection and a clock. Production
// code leaves store_options::faults empty; tests set what they need. Both
// functions may be called from several threads at once and must be
// thread-safe.

#include <cstdint>
#include <functional>
#include <string_view>

#include "formats/time.hpp"

namespace cairn::storage {

struct store_faults {
  // Called on the writer thread just before each commit of a write
  // transaction. Returning a non-zero errno value (EIO, ENOSPC, ...) makes the
  // writer abort the transaction as if mdb_txn_commit had failed with it:
  // every job of the batch fails and nothing of it is stored.
  std::function<int()> before_commit;

  // The clock for date_added, status times and status expiry (microseconds
  // since the epoch). Empty: formats::now_micros().
  std::function<formats::micros()> clock;

  // Replaces the store's keyed hash of object ids in the by_id index. Tests
  // return a constant to make every id collide. Must not change while a store
  // is open on the data, nor between opening the same data twice.
  std::function<std::uint64_t(std::string_view object_id)> id_hash;
};

}  // namespace cairn::storage

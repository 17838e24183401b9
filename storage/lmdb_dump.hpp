#pragma once
// Reads a stopped LMDB store whole, for cairnd migrate: every collection,
// every live version (with date_added, publisher and flags), the unexpired
// statuses, every audit record (INTERFACE JSON, seq order) and every
// checkpoint (oldest first), handed to a store_sink.
//
// The store is opened read-only while holding its directory lock, as the
// offline verifier does (a running server cannot change it meanwhile), and
// read in one snapshot. One thread.

#include <cstdint>
#include <functional>
#include <string>

#include "formats/error.hpp"
#include "storage/store_sink.hpp"

namespace cairn::storage {

struct dump_progress {
  std::uint64_t versions = 0, versions_total = 0;
  std::uint64_t records = 0, records_total = 0;
};

// store_path is the LMDB directory (data_dir/store). progress (optional) is
// called now and then, and once at the end.
result<dump_progress> dump_lmdb_store(
    const std::string& store_path, store_sink& sink,
    const std::function<void(const dump_progress&)>& progress = {});

}  // namespace cairn::storage

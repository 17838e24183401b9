#pragma once
// The options of the embedded LMDB backend (storage/lmdb_store.hpp): those
// of its object store and environment, and those of its audit log. No LMDB
// type appears here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace cairn::storage {

struct store_faults;  // storage/faults.hpp: test seams

// The object store's part (objects, statuses, the environment).
struct store_options {
  std::string path;                                 // data directory (created if missing)
  std::size_t map_size = std::size_t{1} << 30;      // initial LMDB map size
  std::size_t max_map_size = std::size_t{1} << 40;  // the map never grows beyond this
  unsigned max_readers = 510;
  micros status_retention = micros{48} * 3600 * 1'000'000;  // at least 24 h (TAXII 4.3)
  unsigned max_collections = 1000;                          // collection keys run from 1 to this
  std::shared_ptr<store_faults> faults;                     // tests only: fault injection and clock
  // Told, during open only, of one-off events worth a log line (a store
  // migrated to the current layout). Optional.
  std::function<void(std::string_view)> notice;
};

// The whole store: the object store's options and the audit log's.
struct lmdb_store_options : store_options {
  // The audit log's Ed25519 signing key (PKCS#8 PEM), created with mode 0600
  // when missing, and its public key (PEM), written beside it for auditors.
  std::string key_path;
  std::string public_key_path;
  // Checkpoints: at least this often while records arrive, and whenever
  // this many records were added since the last one.
  std::chrono::milliseconds checkpoint_interval{std::chrono::minutes(5)};
  std::uint64_t checkpoint_records = 10'000;
};

}  // namespace cairn::storage

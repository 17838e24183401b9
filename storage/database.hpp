#pragma once
// storage/ only: one LMDB environment and what every part of the embedded
// backend shares in it: the directory lock, the map and its growth, the
// guard that keeps read transactions and resizes apart, the single writer
// (group commit), the store's clock, and the named databases each part
// allocates. The object store and the audit log are both built on it and
// know nothing of each other; lmdb_store combines their writes into one job.
//
// Life: open() the environment, let the parts do their open-time writes
// (setup_grow() when such a write does not fit the map), start() the
// writer, then run. close() stops the writer after what is queued; the
// environment closes with the last owner.
//
// Durability: commits are synchronous (no MDB_NOSYNC, MDB_NOMETASYNC,
// MDB_MAPASYNC or MDB_WRITEMAP).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/time.hpp"
#include "storage/lmdb.hpp"
#include "storage/map_guard.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

struct store_faults;

struct database_options {
  std::string path;                                 // data directory (created if missing)
  std::size_t map_size = std::size_t{1} << 30;      // initial map size
  std::size_t max_map_size = std::size_t{1} << 40;  // the map never grows beyond this
  unsigned max_readers = 510;
  // Named databases the parts may open in all (each part says how many it
  // needs: object_store::databases(), audit_log::databases).
  unsigned max_databases = 64;
  std::shared_ptr<store_faults> faults;  // tests only: fault injection and clock
};

using formats::micros;

class database {
 public:
  // Creates the directory, takes its lock (one process per store: growing
  // the map safely needs it), opens the environment and clears stale reader
  // slots. The writer is not running yet: see start().
  static result<std::shared_ptr<database>> open(const database_options& options);
  ~database();  // close()
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // Before start() only, on the opening thread: doubles the map (up to
  // max_map_size) for an open-time write that did not fit (a migration).
  // False when the map is at max_map_size; an error when LMDB refused.
  result<bool> setup_grow();

  // Starts the writer. Once only.
  void start();
  bool started() const { return writer_ != nullptr; }

  // Opens (creating) named databases in a write job of their own and waits
  // until it commits (LMDB shares a new handle only then). After start(),
  // never from the writer thread.
  result<std::vector<lmdb::dbi>> create_databases(std::vector<std::string> names);

  // Stops accepting writes and commits what is queued. Idempotent.
  void close();

  lmdb::env& env() { return env_; }
  const lmdb::env& env() const { return env_; }
  map_guard& guard() const { return *guard_; }
  storage::writer& writer() const { return *writer_; }  // after start()
  const std::string& path() const { return options_.path; }
  const std::shared_ptr<store_faults>& faults() const { return options_.faults; }

  // The store's clock: the test seam of store_faults, else the wall clock.
  micros now() const;

  // The current map size and the bytes in use, for health and tests.
  std::size_t map_size() const;
  std::size_t used_bytes() const;

 private:
  database() = default;
  database_options options_;
  int lock_fd_ = -1;
  lmdb::env env_;
  std::unique_ptr<map_guard> guard_;
  std::unique_ptr<storage::writer> writer_;  // stopped before the env closes
};

}  // namespace cairn::storage

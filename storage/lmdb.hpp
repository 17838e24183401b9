#pragma once
// A thin C++ layer over LMDB, for storage/ only: no header outside storage/
// includes this one, so nothing of lmdb.h reaches the rest of Cairn.
//
// Two layers, as in lmdbxx:
// - checked free functions that call the C API and turn its return codes into
//   lmdb::error (MDB_NOTFOUND becomes a value: false or std::nullopt);
// - move-only owners (env, txn, cursor) whose destructors release the handle
//   (a txn that was not committed is aborted), plus dbi, a plain handle value.
//
// Threads: an env is shared; a txn and its cursors are used by one thread at a
// time (the env is opened with MDB_NOTLS, so a read txn may move between
// threads between uses). string_views returned by get/seek point into the map
// and die with the txn that produced them.

#include <lmdb.h>

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "formats/error.hpp"

namespace cairn::storage::lmdb {

// The kind of trouble an LMDB (MDB_*) or errno code is: MDB_MAP_FULL, ENOSPC
// and EDQUOT are storage_full, EIO and damage (MDB_CORRUPTED, ...) io, a
// transient shortage (MDB_READERS_FULL, ENOMEM, ...) unavailable, misuse
// (EINVAL, MDB_BAD_*) internal.
cairn::errc kind_of(int rc);

// An LMDB (MDB_*) or errno code with a message that names the operation.
struct error {
  int code = 0;
  std::string message;  // "mdb_put: MDB_MAP_FULL: Environment mapsize limit reached"

  bool map_full() const { return code == MDB_MAP_FULL; }
  cairn::errc kind() const { return kind_of(code); }
  cairn::error to_error() const { return cairn::error{message, {}, kind()}; }
};

template <class T>
using result = std::expected<T, error>;
using status = result<void>;

// The error for return code rc of operation op ("mdb_put").
std::unexpected<error> failure(const char* op, int rc);

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// ---- layer 1: checked calls ----------------------------------------------

status env_create(MDB_env** out);
status env_open(MDB_env* env, const char* path, unsigned flags, mdb_mode_t mode);
status env_set_mapsize(MDB_env* env, std::size_t size);
status env_set_maxreaders(MDB_env* env, unsigned readers);
status env_set_maxdbs(MDB_env* env, MDB_dbi dbs);
result<int> env_reader_check(MDB_env* env);  // number of stale slots cleared
result<MDB_envinfo> env_info(MDB_env* env);
result<MDB_stat> env_stat(MDB_env* env);

status txn_begin(MDB_env* env, MDB_txn* parent, unsigned flags, MDB_txn** out);
status txn_commit(MDB_txn* txn);  // the txn handle is gone afterwards, even on error

status dbi_open(MDB_txn* txn, const char* name, unsigned flags, MDB_dbi* out);
result<MDB_stat> dbi_stat(MDB_txn* txn, MDB_dbi dbi);
// Empties the database; with remove, also deletes it (the handle is closed).
status dbi_drop(MDB_txn* txn, MDB_dbi dbi, bool remove);

// false: key not found.
result<bool> get(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data);
status put(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data, unsigned flags);
// false: key not found.
result<bool> del(MDB_txn* txn, MDB_dbi dbi, MDB_val* key);

status cursor_open(MDB_txn* txn, MDB_dbi dbi, MDB_cursor** out);
// false: no such record (MDB_NOTFOUND).
result<bool> cursor_get(MDB_cursor* cursor, MDB_val* key, MDB_val* data, MDB_cursor_op op);
status cursor_put(MDB_cursor* cursor, MDB_val* key, MDB_val* data, unsigned flags);
status cursor_del(MDB_cursor* cursor, unsigned flags);

// ---- layer 2: owners -------------------------------------------------------

class env {
 public:
  static result<env> create();

  env() = default;  // no environment: create() makes one
  env(env&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  env& operator=(env&& other) noexcept;
  env(const env&) = delete;
  env& operator=(const env&) = delete;
  ~env() { close(); }

  status set_mapsize(std::size_t size) { return env_set_mapsize(handle_, size); }
  status set_maxreaders(unsigned readers) { return env_set_maxreaders(handle_, readers); }
  status set_maxdbs(MDB_dbi dbs) { return env_set_maxdbs(handle_, dbs); }
  status open(const char* path, unsigned flags, mdb_mode_t mode) {
    return env_open(handle_, path, flags, mode);
  }
  result<int> reader_check() { return env_reader_check(handle_); }
  result<MDB_envinfo> info() const { return env_info(handle_); }
  result<MDB_stat> stat() const { return env_stat(handle_); }
  void close() noexcept;

  MDB_env* handle() const { return handle_; }

 private:
  explicit env(MDB_env* handle) : handle_(handle) {}
  MDB_env* handle_ = nullptr;
};

class txn {
 public:
  // parent: nullptr for a top-level txn; a write txn for a nested one.
  static result<txn> begin(const env& e, txn* parent = nullptr, unsigned flags = 0);

  txn() = default;
  txn(txn&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  txn& operator=(txn&& other) noexcept;
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  ~txn() { abort(); }

  // Ends the txn either way: afterwards active() is false.
  status commit();
  void abort() noexcept;
  bool active() const { return handle_ != nullptr; }

  MDB_txn* handle() const { return handle_; }

 private:
  explicit txn(MDB_txn* handle) : handle_(handle) {}
  MDB_txn* handle_ = nullptr;
};

// A database handle. Valid in every txn once the txn that opened it committed;
// closed with the env (mdb_dbi_close is never needed here).
class dbi {
 public:
  static result<dbi> open(txn& t, const char* name, unsigned flags = 0);

  dbi() = default;
  explicit dbi(MDB_dbi handle) : handle_(handle) {}

  // The value, std::nullopt when key is absent.
  result<std::optional<std::string_view>> find(const txn& t, std::string_view key) const;
  status put(txn& t, std::string_view key, std::string_view value, unsigned flags = 0) const;
  // false when key already exists (nothing written).
  result<bool> insert(txn& t, std::string_view key, std::string_view value) const;
  // Space for a value of size bytes under key, to be filled before the next
  // write in this txn.
  result<char*> reserve(txn& t, std::string_view key, std::size_t size, unsigned flags = 0) const;
  // false when key was absent.
  result<bool> erase(txn& t, std::string_view key) const;
  result<MDB_stat> stat(const txn& t) const { return dbi_stat(t.handle(), handle_); }
  // Empties the database, or (remove) deletes it, when t commits.
  status drop(txn& t, bool remove = false) const { return dbi_drop(t.handle(), handle_, remove); }

  MDB_dbi handle() const { return handle_; }

 private:
  MDB_dbi handle_ = 0;
};

// A cursor over one database in one txn. Must be destroyed before its txn ends.
class cursor {
 public:
  static result<cursor> open(const txn& t, dbi d);

  cursor(cursor&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  cursor& operator=(cursor&& other) noexcept;
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;
  ~cursor() { close(); }

  // Positions the cursor with op; false when there is no such record. key is
  // read for MDB_SET, MDB_SET_KEY and MDB_SET_RANGE and set on success.
  result<bool> get(std::string_view& key, std::string_view& value, MDB_cursor_op op);
  // The first record with a key >= key.
  result<bool> seek(std::string_view key, std::string_view& found_key, std::string_view& value);
  status put(std::string_view key, std::string_view value, unsigned flags = 0);
  // Space for a value of size bytes under key (MDB_RESERVE | flags).
  result<char*> reserve(std::string_view key, std::size_t size, unsigned flags = 0);
  // Deletes the record at the cursor.
  status erase();
  void close() noexcept;

  MDB_cursor* handle() const { return handle_; }

 private:
  explicit cursor(MDB_cursor* handle) : handle_(handle) {}
  MDB_cursor* handle_ = nullptr;
};

}  // namespace cairn::storage::lmdb

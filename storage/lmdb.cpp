#include "storage/lmdb.hpp"

#include <cerrno>

namespace cairn::storage::lmdb {

namespace {

const char* code_name(int rc) {
  switch (rc) {
    case MDB_KEYEXIST: return "MDB_KEYEXIST";
    case MDB_NOTFOUND: return "MDB_NOTFOUND";
    case MDB_PAGE_NOTFOUND: return "MDB_PAGE_NOTFOUND";
    case MDB_CORRUPTED: return "MDB_CORRUPTED";
    case MDB_PANIC: return "MDB_PANIC";
    case MDB_VERSION_MISMATCH: return "MDB_VERSION_MISMATCH";
    case MDB_INVALID: return "MDB_INVALID";
    case MDB_MAP_FULL: return "MDB_MAP_FULL";
    case MDB_DBS_FULL: return "MDB_DBS_FULL";
    case MDB_READERS_FULL: return "MDB_READERS_FULL";
    case MDB_TXN_FULL: return "MDB_TXN_FULL";
    case MDB_CURSOR_FULL: return "MDB_CURSOR_FULL";
    case MDB_PAGE_FULL: return "MDB_PAGE_FULL";
    case MDB_MAP_RESIZED: return "MDB_MAP_RESIZED";
    case MDB_INCOMPATIBLE: return "MDB_INCOMPATIBLE";
    case MDB_BAD_RSLOT: return "MDB_BAD_RSLOT";
    case MDB_BAD_TXN: return "MDB_BAD_TXN";
    case MDB_BAD_VALSIZE: return "MDB_BAD_VALSIZE";
    case MDB_BAD_DBI: return "MDB_BAD_DBI";
    default: return nullptr;
  }
}

}  // namespace

cairn::errc kind_of(int rc) {
  switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT: return cairn::errc::storage_full;
    case MDB_NOTFOUND: return cairn::errc::not_found;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_MAP_RESIZED:
    case ENOMEM:
    case EAGAIN:
    case EBUSY: return cairn::errc::unavailable;
    case EINVAL:
    case MDB_KEYEXIST:
    case MDB_DBS_FULL:
    case MDB_BAD_RSLOT:
    case MDB_BAD_TXN:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
    case MDB_INCOMPATIBLE: return cairn::errc::internal;
    default: return cairn::errc::io;  // EIO, EACCES, MDB_CORRUPTED, MDB_PANIC, ...
  }
}

std::unexpected<error> failure(const char* op, int rc) {
  std::string message = op;
  message += ": ";
  if (const char* name = code_name(rc)) {
    message += name;
    message += ": ";
  }
  message += mdb_strerror(rc);
  return std::unexpected<error>(error{rc, std::move(message)});
}

// ---- layer 1 ----------------------------------------------------------------

status env_create(MDB_env** out) {
  if (int rc = mdb_env_create(out)) return failure("mdb_env_create", rc);
  return {};
}

status env_open(MDB_env* env, const char* path, unsigned flags, mdb_mode_t mode) {
  if (int rc = mdb_env_open(env, path, flags, mode)) return failure("mdb_env_open", rc);
  return {};
}

status env_set_mapsize(MDB_env* env, std::size_t size) {
  if (int rc = mdb_env_set_mapsize(env, size)) return failure("mdb_env_set_mapsize", rc);
  return {};
}

status env_set_maxreaders(MDB_env* env, unsigned readers) {
  if (int rc = mdb_env_set_maxreaders(env, readers)) {
    return failure("mdb_env_set_maxreaders", rc);
  }
  return {};
}

status env_set_maxdbs(MDB_env* env, MDB_dbi dbs) {
  if (int rc = mdb_env_set_maxdbs(env, dbs)) return failure("mdb_env_set_maxdbs", rc);
  return {};
}

result<int> env_reader_check(MDB_env* env) {
  int dead = 0;
  if (int rc = mdb_reader_check(env, &dead)) return failure("mdb_reader_check", rc);
  return dead;
}

result<MDB_envinfo> env_info(MDB_env* env) {
  MDB_envinfo info{};
  if (int rc = mdb_env_info(env, &info)) return failure("mdb_env_info", rc);
  return info;
}

result<MDB_stat> env_stat(MDB_env* env) {
  MDB_stat st{};
  if (int rc = mdb_env_stat(env, &st)) return failure("mdb_env_stat", rc);
  return st;
}

status txn_begin(MDB_env* env, MDB_txn* parent, unsigned flags, MDB_txn** out) {
  if (int rc = mdb_txn_begin(env, parent, flags, out)) return failure("mdb_txn_begin", rc);
  return {};
}

status txn_commit(MDB_txn* txn) {
  if (int rc = mdb_txn_commit(txn)) return failure("mdb_txn_commit", rc);
  return {};
}

status dbi_open(MDB_txn* txn, const char* name, unsigned flags, MDB_dbi* out) {
  if (int rc = mdb_dbi_open(txn, name, flags, out)) return failure("mdb_dbi_open", rc);
  return {};
}

result<MDB_stat> dbi_stat(MDB_txn* txn, MDB_dbi dbi) {
  MDB_stat st{};
  if (int rc = mdb_stat(txn, dbi, &st)) return failure("mdb_stat", rc);
  return st;
}

status dbi_drop(MDB_txn* txn, MDB_dbi dbi, bool remove) {
  if (int rc = mdb_drop(txn, dbi, remove ? 1 : 0)) return failure("mdb_drop", rc);
  return {};
}

result<bool> get(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data) {
  const int rc = mdb_get(txn, dbi, key, data);
  if (rc == MDB_NOTFOUND) return false;
  if (rc) return failure("mdb_get", rc);
  return true;
}

status put(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data, unsigned flags) {
  if (int rc = mdb_put(txn, dbi, key, data, flags)) return failure("mdb_put", rc);
  return {};
}

result<bool> del(MDB_txn* txn, MDB_dbi dbi, MDB_val* key) {
  const int rc = mdb_del(txn, dbi, key, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc) return failure("mdb_del", rc);
  return true;
}

status cursor_open(MDB_txn* txn, MDB_dbi dbi, MDB_cursor** out) {
  if (int rc = mdb_cursor_open(txn, dbi, out)) return failure("mdb_cursor_open", rc);
  return {};
}

result<bool> cursor_get(MDB_cursor* cursor, MDB_val* key, MDB_val* data, MDB_cursor_op op) {
  const int rc = mdb_cursor_get(cursor, key, data, op);
  if (rc == MDB_NOTFOUND) return false;
  if (rc) return failure("mdb_cursor_get", rc);
  return true;
}

status cursor_put(MDB_cursor* cursor, MDB_val* key, MDB_val* data, unsigned flags) {
  if (int rc = mdb_cursor_put(cursor, key, data, flags)) return failure("mdb_cursor_put", rc);
  return {};
}

status cursor_del(MDB_cursor* cursor, unsigned flags) {
  if (int rc = mdb_cursor_del(cursor, flags)) return failure("mdb_cursor_del", rc);
  return {};
}

// ---- layer 2 ----------------------------------------------------------------

result<env> env::create() {
  MDB_env* handle = nullptr;
  if (auto st = env_create(&handle); !st) return std::unexpected(st.error());
  return env(handle);
}

env& env::operator=(env&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

void env::close() noexcept {
  if (handle_) mdb_env_close(std::exchange(handle_, nullptr));
}

result<txn> txn::begin(const env& e, txn* parent, unsigned flags) {
  MDB_txn* handle = nullptr;
  if (auto st = txn_begin(e.handle(), parent ? parent->handle() : nullptr, flags, &handle); !st) {
    return std::unexpected(st.error());
  }
  return txn(handle);
}

txn& txn::operator=(txn&& other) noexcept {
  if (this != &other) {
    abort();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

status txn::commit() {
  if (!handle_) return failure("mdb_txn_commit", EINVAL);
  return txn_commit(std::exchange(handle_, nullptr));
}

void txn::abort() noexcept {
  if (handle_) mdb_txn_abort(std::exchange(handle_, nullptr));
}

result<dbi> dbi::open(txn& t, const char* name, unsigned flags) {
  MDB_dbi handle = 0;
  if (auto st = dbi_open(t.handle(), name, flags, &handle); !st) {
    return std::unexpected(st.error());
  }
  return dbi(handle);
}

result<std::optional<std::string_view>> dbi::find(const txn& t, std::string_view key) const {
  MDB_val k = to_val(key);
  MDB_val v{};
  auto found = lmdb::get(t.handle(), handle_, &k, &v);
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::optional<std::string_view>{};
  return std::optional<std::string_view>{to_view(v)};
}

status dbi::put(txn& t, std::string_view key, std::string_view value, unsigned flags) const {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  return lmdb::put(t.handle(), handle_, &k, &v, flags);
}

result<bool> dbi::insert(txn& t, std::string_view key, std::string_view value) const {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  const int rc = mdb_put(t.handle(), handle_, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return false;
  if (rc) return failure("mdb_put", rc);
  return true;
}

result<char*> dbi::reserve(txn& t, std::string_view key, std::size_t size, unsigned flags) const {
  MDB_val k = to_val(key);
  MDB_val v{size, nullptr};
  if (auto st = lmdb::put(t.handle(), handle_, &k, &v, flags | MDB_RESERVE); !st) {
    return std::unexpected(st.error());
  }
  return static_cast<char*>(v.mv_data);
}

result<bool> dbi::erase(txn& t, std::string_view key) const {
  MDB_val k = to_val(key);
  return lmdb::del(t.handle(), handle_, &k);
}

result<cursor> cursor::open(const txn& t, dbi d) {
  MDB_cursor* handle = nullptr;
  if (auto st = cursor_open(t.handle(), d.handle(), &handle); !st) {
    return std::unexpected(st.error());
  }
  return cursor(handle);
}

cursor& cursor::operator=(cursor&& other) noexcept {
  if (this != &other) {
    close();
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

void cursor::close() noexcept {
  if (handle_) mdb_cursor_close(std::exchange(handle_, nullptr));
}

result<bool> cursor::get(std::string_view& key, std::string_view& value, MDB_cursor_op op) {
  MDB_val k = to_val(key);
  MDB_val v{};
  auto found = cursor_get(handle_, &k, &v, op);
  if (found && *found) {
    key = to_view(k);
    value = to_view(v);
  }
  return found;
}

result<bool> cursor::seek(std::string_view key, std::string_view& found_key,
                          std::string_view& value) {
  found_key = key;
  return get(found_key, value, MDB_SET_RANGE);
}

status cursor::put(std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  return cursor_put(handle_, &k, &v, flags);
}

result<char*> cursor::reserve(std::string_view key, std::size_t size, unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v{size, nullptr};
  if (auto st = cursor_put(handle_, &k, &v, flags | MDB_RESERVE); !st) {
    return std::unexpected(st.error());
  }
  return static_cast<char*>(v.mv_data);
}

status cursor::erase() {
  return cursor_del(handle_, 0);
}

}  // namespace cairn::storage::lmdb

#include "storage/object_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <random>
#include <thread>
#include <utility>

#include "storage/codec.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "storage/map_guard.hpp"
#include "storage/store_access.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

namespace {

constexpr micros k_hour = micros{3600} * 1'000'000;
constexpr micros k_min_status_retention = 24 * k_hour;
constexpr micros k_purge_interval = k_hour;
constexpr std::size_t k_purge_per_job = 10'000;  // keeps a purge from making one huge commit
constexpr std::uint32_t k_schema = 1;
constexpr unsigned k_fixed_dbs =
    32;  // the databases besides objects/<key>: ours and the audit log's
constexpr std::size_t k_min_map_size = std::size_t{1} << 20;
constexpr std::size_t k_page = 4096;
constexpr std::size_t k_max_status_id_bytes = 256;

constexpr std::string_view k_meta_schema = "schema";
constexpr std::string_view k_meta_next_collection = "next_collection";
constexpr std::string_view k_meta_collection_prefix = "c/";
constexpr std::string_view k_meta_id_hash_key = "id_hash_key";

lmdb::error job_error(std::string message) {
  return lmdb::error{EINVAL, std::move(message)};
}

std::string collection_meta_key(std::string_view collection_id) {
  std::string k(k_meta_collection_prefix);
  k += collection_id;
  return k;
}

std::string last_added_meta_key(collection_key c) {
  std::string k = "last/";
  k.append(codec::collection_bytes(c).view());
  return k;
}

std::string objects_db_name(collection_key c) {
  return "objects/" + std::to_string(c);
}

// An flock on <dir>/cairn.lock: LMDB's own locking allows several processes,
// but growing the map safely needs this process to be the only one.
class dir_lock {
 public:
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() {
    if (fd_ >= 0) ::close(fd_);
  }

  result<void> acquire(const std::string& dir) {
    const std::string path = dir + "/cairn.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return fail("the data directory " + dir + " is in use by another store");
      }
      return fail("cannot lock " + path + ": " + std::strerror(errno));
    }
    return {};
  }

 private:
  int fd_ = -1;
};

// Everything the store, its jobs and its read txns share.
struct store_core {
  store_options options;
  micros status_retention = 0;
  dir_lock lock;
  lmdb::env env;
  std::unique_ptr<map_guard> guard;
  lmdb::dbi by_id;
  lmdb::dbi status;
  lmdb::dbi status_time;
  lmdb::dbi meta;
  codec::hash_key id_key;  // keys by_id's hash of object ids; random per store
  // objects/<key> handles by collection key; 0 until the db is committed.
  std::unique_ptr<std::atomic<MDB_dbi>[]> objects;
  // Every key up to this one has its handle in objects (keys are handed out in
  // order, and published only after their db was committed).
  std::atomic<collection_key> published{0};
  std::atomic<micros> next_purge{0};
  std::atomic<std::uint64_t> purged{0};
  std::unique_ptr<storage::writer> writer;  // last: stopped before the env closes

  micros now() const {
    const auto& f = options.faults;
    return f && f->clock ? f->clock() : formats::now_micros();
  }

  // The objects db of c, or a zero handle when c is not (yet) known to a
  // reader whose snapshot knows keys up to bound.
  lmdb::dbi objects_dbi(collection_key c, collection_key bound) const {
    if (c == 0 || c > bound || c > options.max_collections) return lmdb::dbi{};
    return lmdb::dbi{objects[c].load(std::memory_order_acquire)};
  }

  void publish_dbi(collection_key c, lmdb::dbi d) {
    objects[c].store(d.handle(), std::memory_order_release);
    if (c > published.load()) published.store(c, std::memory_order_release);
  }

  std::uint64_t id_hash(std::string_view id) const {
    const auto& f = options.faults;
    return f && f->id_hash ? f->id_hash(id) : codec::siphash24(id_key, id);
  }

  void maybe_purge();
};

// The objects record at position at (deleted ones too); false when absent or
// malformed. The views in f point into the map.
lmdb::result<bool> read_record(const lmdb::txn& t, lmdb::dbi objects, micros at,
                               codec::object_fields& f) {
  auto value = objects.find(t, codec::position_key(at).view());
  if (!value) return std::unexpected(value.error());
  return value->has_value() && codec::decode_object(**value, f);
}

using duplicate_test = std::function<bool(const object_record&)>;

// The record f, at position at of collection c, as readers see it.
object_record record_of(const codec::object_fields& f, collection_key c, micros at) {
  object_record r;
  r.collection = c;
  r.date_added = at;
  r.id = f.id;
  r.version = f.version;
  r.spec_version = f.spec_version;
  r.publisher = f.publisher;
  r.tlp = f.tlp;
  r.json = f.json;
  r.later_copy = f.later_copy;
  return r;
}

// Whether the record f (at position at of collection c) of object id makes a
// new version a duplicate: same id, and the request's test, if any, agrees.
bool counts_as_duplicate(const codec::object_fields& f, std::string_view id, collection_key c,
                         micros at, const duplicate_test& test) {
  if (f.id != id) return false;  // a hash collision
  if (!test) return true;
  return test(record_of(f, c, at));
}

// The stored copies of one (id, version) that earlier_entries() found.
struct earlier_copies {
  bool duplicate = false;  // one counts as a duplicate
  bool any = false;        // one exists (the new version is then a later copy)
};

// From the cursor's position (on an entry just written), walks back over the
// entries under prefix and tells whether one of them belongs to object id
// (others are hash collisions), and whether one counts as a duplicate.
lmdb::result<earlier_copies> earlier_entries(lmdb::cursor& ids, const lmdb::txn& t,
                                             lmdb::dbi objects, std::string_view prefix,
                                             std::string_view id, collection_key c,
                                             const duplicate_test& test) {
  earlier_copies out;
  std::string_view k;
  std::string_view v;
  auto found = ids.get(k, v, MDB_PREV);
  for (; found && *found && k.starts_with(prefix); found = ids.get(k, v, MDB_PREV)) {
    codec::object_fields f;
    const micros at = codec::by_id_position(k);
    auto rec = read_record(t, objects, at, f);
    if (!rec) return std::unexpected(rec.error());
    if (!*rec || f.id != id) continue;
    out.any = true;
    if (counts_as_duplicate(f, id, c, at, test)) {
      out.duplicate = true;
      return out;
    }
  }
  if (!found) return std::unexpected(found.error());
  return out;
}

// Walks the by_id entries under prefix (of a by_id_key) from the first one, and finds the first
// whose record has object id `id` and counts as a duplicate. Sets version (when not null) to that
// record's version. Entries under the same prefix with another id are hash collisions and are
// skipped.
lmdb::result<bool> find_entry(lmdb::cursor& ids, const lmdb::txn& t, lmdb::dbi objects,
                              std::string_view prefix, std::string_view id, std::string* version,
                              collection_key c, const duplicate_test& test) {
  std::string_view k;
  std::string_view v;
  auto found = ids.seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = ids.get(k, v, MDB_NEXT)) {
    codec::object_fields f;
    const micros at = codec::by_id_position(k);
    auto rec = read_record(t, objects, at, f);
    if (!rec) return std::unexpected(rec.error());
    if (*rec && counts_as_duplicate(f, id, c, at, test)) {
      if (version) version->assign(f.version);
      return true;
    }
  }
  if (!found) return std::unexpected(found.error());
  return false;
}

// Reads a collection's key in a short read txn of its own.
result<std::optional<collection_key>> find_collection(const store_core& s, std::string_view id) {
  s.guard->enter_shared();
  std::optional<collection_key> found;
  lmdb::status st;
  {
    auto t = lmdb::txn::begin(s.env, nullptr, MDB_RDONLY);
    if (!t) {
      st = std::unexpected(t.error());
    } else if (auto v = s.meta.find(*t, collection_meta_key(id)); !v) {
      st = std::unexpected(v.error());
    } else if (*v && (*v)->size() == 4) {
      found = codec::get_u32be((*v)->data());
    }
  }
  s.guard->leave_shared();
  if (!st) return fail(st.error().message);
  return found;
}

// ---- write jobs ---------------------------------------------------------------

class publish_job final : public write_job {
 public:
  publish_job(store_core& store, publish_request request,
              std::function<void(result<publish_outcome>)> done)
      : store_(store), request_(std::move(request)), done_(std::move(done)) {
    weight_ = 256 + request_.status.id.size();
    for (const auto& o : request_.objects) weight_ += o.json.size() + 2 * o.id.size() + 128;
  }

  std::size_t weight() const override { return weight_; }

  lmdb::status run(lmdb::txn& t) override {
    out_ = publish_outcome{};
    out_.status = request_.status;
    const collection_key c = request_.collection;
    const lmdb::dbi objects = store_.objects_dbi(c, store_.published.load());
    if (objects.handle() == 0) {
      return std::unexpected(job_error("unknown collection key " + std::to_string(c)));
    }
    if (request_.publisher.size() > codec::max_publisher_bytes) {
      return std::unexpected(job_error("publisher name longer than " +
                                       std::to_string(codec::max_publisher_bytes) + " bytes"));
    }
    if (request_.status.id.size() > k_max_status_id_bytes) {
      return std::unexpected(
          job_error("status id longer than " + std::to_string(k_max_status_id_bytes) + " bytes"));
    }

    auto appender = lmdb::cursor::open(t, objects);
    if (!appender) return std::unexpected(appender.error());
    auto ids = lmdb::cursor::open(t, store_.by_id);
    if (!ids) return std::unexpected(ids.error());

    // The last date_added handed out: both the meta record and the last key,
    // so that a new position is always past every stored one.
    micros last = 0;
    std::string_view k;
    std::string_view v;
    auto at_end = appender->get(k, v, MDB_LAST);
    if (!at_end) return std::unexpected(at_end.error());
    if (*at_end) last = codec::position_of(k);
    const std::string last_key = last_added_meta_key(c);
    auto meta_last = store_.meta.find(t, last_key);
    if (!meta_last) return std::unexpected(meta_last.error());
    if (*meta_last && (*meta_last)->size() == 8) {
      last = std::max(last, static_cast<micros>(codec::get_u64be((*meta_last)->data())));
    }

    const micros now = store_.now();
    codec::by_id_key key;
    std::string assigned;
    std::string stored_version;
    std::vector<status_detail> added;
    added.reserve(request_.objects.size());
    for (const new_object& obj : request_.objects) {
      if (obj.id.empty() || obj.id.size() > codec::max_id_bytes) {
        failed(obj, "object id is empty or longer than " + std::to_string(codec::max_id_bytes) +
                        " bytes");
        continue;
      }
      if (obj.version.size() > codec::max_version_bytes ||
          obj.spec_version.size() > codec::max_spec_version_bytes) {
        failed(obj, "version or spec_version too long");
        continue;
      }
      key.set_id(c, store_.id_hash(obj.id));

      if (obj.version.empty()) {
        // No version: any stored version of the id makes this a duplicate.
        auto found = find_entry(*ids, t, objects, key.id_prefix(), obj.id, &stored_version, c,
                                request_.duplicate_if);
        if (!found) return std::unexpected(found.error());
        if (*found) {
          duplicate(obj, stored_version);
          continue;
        }
      }

      const micros date_added = std::max(now, last + 1);
      std::string_view version = obj.version;
      if (version.empty()) {
        assigned = formats::format_taxii_time(date_added);
        version = assigned;
      }
      auto time_key = formats::stix_time_key(version);
      char packed[codec::packed_time_bytes];
      if (!time_key || !codec::pack_time_key(*time_key, packed)) {
        failed(obj, "version is not a STIX timestamp" +
                        (time_key ? std::string() : ": " + time_key.error().message));
        continue;
      }
      key.set_time(packed);
      key.set_position(date_added);
      if (auto st = ids->put(key.full(), {}); !st) return st;
      // The entry just written has the highest position, so a stored
      // (id, version) is among the entries right before it that share its
      // version prefix. Checking after the insert costs one step of the
      // cursor instead of a second search of the tree. (An assigned version
      // can match only a copy the publisher may not receive: find_entry()
      // took the others as duplicates.)
      auto stored =
          earlier_entries(*ids, t, objects, key.version_prefix(), obj.id, c, request_.duplicate_if);
      if (!stored) return std::unexpected(stored.error());
      if (stored->duplicate) {
        std::string_view k = key.full();
        std::string_view v;
        auto back = ids->get(k, v, MDB_SET);
        if (!back) return std::unexpected(back.error());
        if (auto st = ids->erase(); !st) return st;
        duplicate(obj, version);
        continue;
      }

      codec::object_fields fields{obj.id,  version, obj.spec_version, request_.publisher, obj.json,
                                  obj.tlp, false};
      fields.later_copy = stored->any;
      const auto position = codec::position_key(date_added);
      auto space =
          appender->reserve(position.view(), codec::object_value_bytes(fields), MDB_APPEND);
      if (!space) return std::unexpected(space.error());
      codec::encode_object(*space, fields);

      last = date_added;
      if (out_.added++ == 0) out_.first_date_added = date_added;
      out_.last_date_added = date_added;
      added.push_back(status_detail{obj.id, std::string(version), {}});
    }

    if (out_.added > 0) {
      if (auto st = store_.meta.put(t, last_key, codec::position_key(last).view()); !st) return st;
    }
    if (!out_.status.id.empty()) {
      // Stored with the added versions as one range of positions.
      std::vector<std::pair<micros, micros>> ranges;
      if (out_.added > 0) ranges.emplace_back(out_.first_date_added, out_.last_date_added);
      const std::string value = codec::encode_status(out_.status, now, c, ranges);
      if (auto st = store_.status.put(t, out_.status.id, value); !st) return st;
      std::string time_key(codec::position_key(now).view());
      time_key += out_.status.id;
      if (auto st = store_.status_time.put(t, time_key, {}); !st) return st;
    }
    // As read back later: the added versions, then the listed successes.
    added.insert(added.end(), std::make_move_iterator(out_.status.successes.begin()),
                 std::make_move_iterator(out_.status.successes.end()));
    out_.status.successes = std::move(added);
    if (request_.companion) return request_.companion(t, out_);
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (!done_) return;
    if (failure) {
      done_(std::unexpected(std::move(*failure)));
    } else {
      done_(std::move(out_));
    }
  }

 private:
  void failed(const new_object& obj, std::string why) {
    out_.status.failures.push_back(status_detail{obj.id.substr(0, codec::max_id_bytes),
                                                 obj.version.substr(0, codec::max_version_bytes),
                                                 std::move(why)});
  }
  void duplicate(const new_object& obj, std::string_view version) {
    ++out_.duplicates;
    out_.status.successes.push_back(status_detail{obj.id, std::string(version), {}});
  }

  store_core& store_;
  publish_request request_;
  std::function<void(result<publish_outcome>)> done_;
  std::size_t weight_ = 0;
  publish_outcome out_;
};

class remove_job final : public write_job {
 public:
  remove_job(store_core& store, delete_request request,
             std::function<void(result<std::size_t>)> done)
      : store_(store), request_(std::move(request)), done_(std::move(done)) {}

  std::size_t weight() const override { return 64 + 64 * request_.positions.size(); }

  lmdb::status run(lmdb::txn& t) override {
    removed_ = 0;
    removed_positions_.clear();
    const collection_key c = request_.collection;
    const lmdb::dbi objects = store_.objects_dbi(c, store_.published.load());
    if (objects.handle() == 0) {
      return std::unexpected(job_error("unknown collection key " + std::to_string(c)));
    }
    std::string tombstone;
    codec::by_id_key key;
    for (const micros at : request_.positions) {
      const auto position = codec::position_key(at);
      codec::object_fields f;
      auto found = read_record(t, objects, at, f);
      if (!found) return std::unexpected(found.error());
      if (!*found || f.deleted) continue;

      // Copy what stays (id, version, ...) out of the map before writing: a
      // write may move or free the page the views point into.
      f.deleted = true;
      f.json = {};
      tombstone.resize(codec::object_value_bytes(f));
      codec::encode_object(tombstone.data(), f);
      codec::decode_object(tombstone, f);

      char packed[codec::packed_time_bytes];
      if (auto time_key = formats::stix_time_key(f.version);
          time_key && codec::pack_time_key(*time_key, packed)) {
        key.set_id(c, store_.id_hash(f.id));
        key.set_time(packed);
        key.set_position(at);
        if (auto erased = store_.by_id.erase(t, key.full()); !erased) {
          return std::unexpected(erased.error());
        }
      }
      if (auto st = objects.put(t, position.view(), tombstone); !st) return st;
      ++removed_;
      if (request_.companion) removed_positions_.push_back(at);
    }
    if (request_.companion) return request_.companion(t, removed_positions_);
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (!done_) return;
    if (failure) {
      done_(std::unexpected(std::move(*failure)));
    } else {
      done_(removed_);
    }
  }

 private:
  store_core& store_;
  delete_request request_;
  std::function<void(result<std::size_t>)> done_;
  std::size_t removed_ = 0;
  std::vector<micros> removed_positions_;  // for the companion
};

// Assigns a collection key and creates its objects db. Solo: LMDB shares a
// new db handle only once the txn that opened it has committed.
class collection_job final : public write_job {
 public:
  collection_job(store_core& store, std::string id, std::promise<result<collection_key>> done)
      : store_(store), id_(std::move(id)), done_(std::move(done)) {}

  std::size_t weight() const override { return 256; }
  bool solo() const override { return true; }

  lmdb::status run(lmdb::txn& t) override {
    key_ = 0;
    const std::string meta_key = collection_meta_key(id_);
    auto known = store_.meta.find(t, meta_key);
    if (!known) return std::unexpected(known.error());
    if (*known && (*known)->size() == 4) {
      key_ = codec::get_u32be((*known)->data());
    } else {
      auto next = store_.meta.find(t, k_meta_next_collection);
      if (!next) return std::unexpected(next.error());
      key_ = *next && (*next)->size() == 4 ? codec::get_u32be((*next)->data()) : 1;
      if (key_ == 0 || key_ > store_.options.max_collections) {
        return std::unexpected(job_error("too many collections (max_collections is " +
                                         std::to_string(store_.options.max_collections) + ")"));
      }
      if (auto st = store_.meta.put(t, meta_key, codec::collection_bytes(key_).view()); !st) {
        return st;
      }
      if (auto st =
              store_.meta.put(t, k_meta_next_collection, codec::collection_bytes(key_ + 1).view());
          !st) {
        return st;
      }
    }
    auto d = lmdb::dbi::open(t, objects_db_name(key_).c_str(), MDB_CREATE);
    if (!d) return std::unexpected(d.error());
    dbi_ = *d;
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (failure) {
      done_.set_value(std::unexpected(std::move(*failure)));
      return;
    }
    store_.publish_dbi(key_, dbi_);
    done_.set_value(key_);
  }

 private:
  store_core& store_;
  std::string id_;
  std::promise<result<collection_key>> done_;
  collection_key key_ = 0;
  lmdb::dbi dbi_;
};

// Removes statuses older than the retention period, oldest first.
class purge_job final : public write_job {
 public:
  explicit purge_job(store_core& store) : store_(store) {}

  std::size_t weight() const override { return 4096; }

  lmdb::status run(lmdb::txn& t) override {
    purged_ = 0;
    more_ = false;
    const micros cutoff = store_.now() - store_.status_retention;
    auto by_time = lmdb::cursor::open(t, store_.status_time);
    if (!by_time) return std::unexpected(by_time.error());
    std::string id;
    for (;;) {
      std::string_view k;
      std::string_view v;
      // Always the first entry: the previous one was just deleted.
      auto found = by_time->get(k, v, MDB_FIRST);
      if (!found) return std::unexpected(found.error());
      if (!*found || k.size() < 8) break;
      const micros stored = static_cast<micros>(codec::get_u64be(k.data()));
      if (stored >= cutoff) break;
      if (purged_ == k_purge_per_job) {
        more_ = true;
        break;
      }
      id.assign(k.substr(8));
      if (auto st = by_time->erase(); !st) return st;
      auto value = store_.status.find(t, id);
      if (!value) return std::unexpected(value.error());
      // A status stored again later under the same id has a newer time: keep it.
      if (*value && codec::status_stored_at(**value) == stored) {
        if (auto erased = store_.status.erase(t, id); !erased) {
          return std::unexpected(erased.error());
        }
        ++purged_;
      }
    }
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (failure) return;
    store_.purged += purged_;
    if (more_) store_.next_purge = 0;
  }

 private:
  store_core& store_;
  std::size_t purged_ = 0;
  bool more_ = false;
};

void store_core::maybe_purge() {
  const micros t = now();
  micros due = next_purge.load();
  if (t < due) return;
  if (!next_purge.compare_exchange_strong(due, t + k_purge_interval)) return;
  writer->submit(std::make_unique<purge_job>(*this));
}

// Opens the fixed databases and the objects db of every known collection.
result<void> open_databases(store_core& s) {
  auto t = lmdb::txn::begin(s.env);
  if (!t) return fail("cannot open the store: " + t.error().message);
  auto open_db = [&](const char* name, lmdb::dbi& out) -> lmdb::status {
    auto d = lmdb::dbi::open(*t, name, MDB_CREATE);
    if (!d) return std::unexpected(d.error());
    out = *d;
    return {};
  };
  lmdb::status st = open_db("by_id", s.by_id);
  if (st) st = open_db("status", s.status);
  if (st) st = open_db("status_time", s.status_time);
  if (st) st = open_db("meta", s.meta);
  if (!st) return fail("cannot open the store: " + st.error().message);

  auto schema = s.meta.find(*t, k_meta_schema);
  if (!schema) return fail("cannot open the store: " + schema.error().message);
  if (!*schema) {
    if (auto put = s.meta.put(*t, k_meta_schema, codec::collection_bytes(k_schema).view()); !put) {
      return fail("cannot open the store: " + put.error().message);
    }
  } else if ((*schema)->size() != 4 || codec::get_u32be((*schema)->data()) != k_schema) {
    return fail("the store in " + s.options.path + " has an unknown schema version");
  }

  auto id_key = s.meta.find(*t, k_meta_id_hash_key);
  if (!id_key) return fail("cannot open the store: " + id_key.error().message);
  std::string key_bytes;
  if (*id_key && (*id_key)->size() == 16) {
    key_bytes.assign(**id_key);
  } else if (*id_key) {
    return fail("the store in " + s.options.path + " has a damaged id_hash_key");
  } else {
    std::random_device random;  // getrandom(2)
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t word = random();
      key_bytes.append(codec::collection_bytes(word).view());
    }
    if (auto put = s.meta.put(*t, k_meta_id_hash_key, key_bytes); !put) {
      return fail("cannot open the store: " + put.error().message);
    }
  }
  s.id_key.k0 = codec::get_u64be(key_bytes.data());
  s.id_key.k1 = codec::get_u64be(key_bytes.data() + 8);

  std::vector<std::pair<collection_key, lmdb::dbi>> known;
  {
    auto c = lmdb::cursor::open(*t, s.meta);
    if (!c) return fail("cannot open the store: " + c.error().message);
    std::string_view k;
    std::string_view v;
    auto found = c->seek(k_meta_collection_prefix, k, v);
    for (; found && *found && k.starts_with(k_meta_collection_prefix);
         found = c->get(k, v, MDB_NEXT)) {
      if (v.size() != 4) continue;
      const collection_key key = codec::get_u32be(v.data());
      if (key == 0 || key > s.options.max_collections) {
        return fail("the store has collection key " + std::to_string(key) +
                    ", above max_collections");
      }
      known.emplace_back(key, lmdb::dbi{});
    }
    if (!found) return fail("cannot open the store: " + found.error().message);
  }
  for (auto& [key, d] : known) {
    auto opened = lmdb::dbi::open(*t, objects_db_name(key).c_str(), MDB_CREATE);
    if (!opened) return fail("cannot open the store: " + opened.error().message);
    d = *opened;
  }
  if (auto committed = t->commit(); !committed) {
    return fail("cannot open the store: " + committed.error().message);
  }
  std::sort(known.begin(), known.end(), [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& [key, d] : known) s.publish_dbi(key, d);
  return {};
}

}  // namespace

// ---- object_store ---------------------------------------------------------------

struct object_store::impl : store_core {};

object_store::object_store() = default;

object_store::~object_store() {
  close();
}

result<std::unique_ptr<object_store>> object_store::open(const store_options& options) {
  if (options.path.empty()) return fail("the store needs a data directory");
  if (options.max_readers == 0) return fail("max_readers must be at least 1");
  if (options.max_collections == 0 || options.max_collections > 100'000) {
    return fail("max_collections must be between 1 and 100000");
  }
  const std::size_t map_size = std::max(options.map_size, k_min_map_size) / k_page * k_page;
  const std::size_t max_map_size = options.max_map_size / k_page * k_page;
  if (max_map_size < map_size) return fail("max_map_size is below map_size");

  std::unique_ptr<object_store> store(new object_store());
  store->impl_ = std::make_unique<impl>();
  store_core& s = *store->impl_;
  s.options = options;
  s.options.map_size = map_size;
  s.options.max_map_size = max_map_size;
  s.status_retention = std::max(options.status_retention, k_min_status_retention);

  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return fail("cannot create the data directory " + options.path + ": " + ec.message());
  if (auto locked = s.lock.acquire(options.path); !locked) return std::unexpected(locked.error());

  auto e = lmdb::env::create();
  if (!e) return fail(e.error().message);
  s.env = std::move(*e);
  lmdb::status st = s.env.set_maxreaders(options.max_readers);
  if (st) st = s.env.set_maxdbs(k_fixed_dbs + options.max_collections);
  if (st) st = s.env.set_mapsize(map_size);
  // MDB_NOTLS: a read txn may be begun on one thread and used on another.
  if (st) st = s.env.open(options.path.c_str(), MDB_NOTLS, 0600);
  if (!st) return fail("cannot open the store in " + options.path + ": " + st.error().message);
  // Slots of readers that died without ending their txn would pin old pages.
  if (auto cleared = s.env.reader_check(); !cleared) return fail(cleared.error().message);

  s.guard = std::make_unique<map_guard>(options.max_readers);
  s.objects = std::make_unique<std::atomic<MDB_dbi>[]>(options.max_collections + 1);
  if (auto opened = open_databases(s); !opened) return std::unexpected(opened.error());

  writer_options w;
  w.max_map_size = max_map_size;
  s.writer = std::make_unique<writer>(s.env, *s.guard, w, options.faults);
  return store;
}

void object_store::close() {
  if (impl_ && impl_->writer) impl_->writer->close();
}

result<collection_key> object_store::collection(std::string_view collection_id) {
  if (collection_id.empty() || collection_id.size() > codec::max_collection_id_bytes) {
    return fail("a collection id must have 1 to " + std::to_string(codec::max_collection_id_bytes) +
                " bytes");
  }
  auto known = find_collection(*impl_, collection_id);
  if (!known) return std::unexpected(known.error());
  if (*known && **known <= impl_->published.load(std::memory_order_acquire)) return **known;
  if (impl_->writer->on_writer_thread()) {
    return fail("object_store::collection() must not be called on the writer thread");
  }
  std::promise<result<collection_key>> promise;
  auto done = promise.get_future();
  impl_->writer->submit(
      std::make_unique<collection_job>(*impl_, std::string(collection_id), std::move(promise)));
  return done.get();
}

void object_store::publish(publish_request request,
                           std::function<void(result<publish_outcome>)> done) {
  impl_->writer->submit(std::make_unique<publish_job>(*impl_, std::move(request), std::move(done)));
  impl_->maybe_purge();
}

void object_store::remove(delete_request request, std::function<void(result<std::size_t>)> done) {
  impl_->writer->submit(std::make_unique<remove_job>(*impl_, std::move(request), std::move(done)));
}

std::size_t object_store::map_size() const {
  return impl_->writer->map_size();
}

std::size_t object_store::used_bytes() const {
  impl_->guard->enter_shared();
  auto info = impl_->env.info();
  auto st = impl_->env.stat();
  impl_->guard->leave_shared();
  if (!info || !st) return 0;
  return (info->me_last_pgno + 1) * st->ms_psize;
}

store_access object_store::access() const {
  store_core& s = *impl_;
  store_access a;
  a.env = &s.env;
  a.guard = s.guard.get();
  a.writer = s.writer.get();
  a.objects = [&s](collection_key c) { return s.objects_dbi(c, s.published.load()); };
  a.clock = [&s] { return s.now(); };
  a.faults = s.options.faults;
  a.path = s.options.path;
  return a;
}

store_stats object_store::stats() const {
  const writer_stats w = impl_->writer->stats();
  store_stats s;
  s.commits = w.commits;
  s.failed_commits = w.failed_commits;
  s.jobs = w.jobs;
  s.map_resizes = w.map_resizes;
  s.statuses_purged = impl_->purged.load();
  return s;
}

// ---- read_txn ---------------------------------------------------------------------

struct read_txn::impl {
  const store_core* store = nullptr;  // set once the guard is held
  std::thread::id owner;              // the thread the share is counted for
  lmdb::txn txn;
  collection_key bound = 0;
  std::optional<error> last_error;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    txn.abort();
    if (store) store->guard->leave_shared(owner);
  }

  void note(const lmdb::error& e) {
    if (!last_error) last_error = e.to_error();
  }

  // Fills r from an objects record; false for a deleted or malformed one.
  static bool fill(object_record& r, collection_key c, std::string_view key,
                   std::string_view value) {
    codec::object_fields f;
    if (!codec::decode_object(value, f) || f.deleted) return false;
    r = record_of(f, c, codec::position_of(key));
    return true;
  }

  std::optional<object_record> at(collection_key c, lmdb::dbi objects, micros date_added) {
    const auto key = codec::position_key(date_added);
    auto value = objects.find(txn, key.view());
    if (!value) {
      note(value.error());
      return std::nullopt;
    }
    object_record r;
    if (!*value || !fill(r, c, key.view(), **value)) return std::nullopt;
    return r;
  }
};

read_txn::read_txn() = default;
read_txn::read_txn(read_txn&&) noexcept = default;
read_txn& read_txn::operator=(read_txn&&) noexcept = default;
read_txn::~read_txn() = default;

read_txn object_store::begin_read() const {
  read_txn r;
  r.impl_ = std::make_unique<read_txn::impl>();
  r.impl_->owner = impl_->guard->enter_shared();
  r.impl_->store = impl_.get();
  // The bound is read before the snapshot is taken: every key up to it was
  // committed before, so the snapshot has its db.
  r.impl_->bound = impl_->published.load(std::memory_order_acquire);
  auto t = lmdb::txn::begin(impl_->env, nullptr, MDB_RDONLY);
  if (t) {
    r.impl_->txn = std::move(*t);
  } else {
    r.impl_->note(t.error());
  }
  return r;
}

void read_txn::scan(collection_key c, micros after,
                    const std::function<bool(const object_record&)>& fn) const {
  impl& in = *impl_;
  if (!in.txn.active()) return;
  const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
  if (objects.handle() == 0) return;
  if (after == std::numeric_limits<micros>::max()) return;
  auto cur = lmdb::cursor::open(in.txn, objects);
  if (!cur) return in.note(cur.error());
  std::string_view k;
  std::string_view v;
  object_record r;
  auto found = cur->seek(codec::position_key(std::max<micros>(after + 1, 0)).view(), k, v);
  for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
    if (impl::fill(r, c, k, v) && !fn(r)) return;
  }
  if (!found) in.note(found.error());
}

void read_txn::versions(collection_key c, std::string_view object_id,
                        const std::function<bool(const object_record&)>& fn) const {
  impl& in = *impl_;
  if (!in.txn.active() || object_id.empty() || object_id.size() > codec::max_id_bytes) return;
  const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
  if (objects.handle() == 0) return;
  auto cur = lmdb::cursor::open(in.txn, in.store->by_id);
  if (!cur) return in.note(cur.error());
  codec::by_id_key key;
  key.set_id(c, in.store->id_hash(object_id));
  const std::string_view prefix = key.id_prefix();
  std::string_view k;
  std::string_view v;
  auto found = cur->seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = cur->get(k, v, MDB_NEXT)) {
    auto r = in.at(c, objects, codec::by_id_position(k));
    if (r && r->id == object_id && !fn(*r)) return;
  }
  if (!found) in.note(found.error());
}

std::optional<object_record> read_txn::at(collection_key c, micros date_added) const {
  impl& in = *impl_;
  if (!in.txn.active()) return std::nullopt;
  const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
  if (objects.handle() == 0) return std::nullopt;
  return in.at(c, objects, date_added);
}

read_txn::rank read_txn::version_rank(
    const object_record& r, const std::function<bool(const object_record&)>& counts) const {
  impl& in = *impl_;
  rank out;
  if (!in.txn.active() || r.id.empty() || r.id.size() > codec::max_id_bytes) return out;
  const lmdb::dbi objects = in.store->objects_dbi(r.collection, in.bound);
  if (objects.handle() == 0) return out;
  auto cur = lmdb::cursor::open(in.txn, in.store->by_id);
  if (!cur) {
    in.note(cur.error());
    return out;
  }
  codec::by_id_key key;
  key.set_id(r.collection, in.store->id_hash(r.id));
  const std::string_view prefix = key.id_prefix();

  // One walk over the id's entries, in version order: r is first when no
  // other version that counts comes before its own entry, and last when none
  // comes after it. Entries of other ids that share the hash are skipped, and
  // r's own entry is never read: an object with one version costs one seek
  // and one step. A version before r is read only until one is found to count.
  // Copies of r's version (same timestamp) sit right beside r's entry: one
  // before it that counts is remembered by its timestamp, which is compared
  // with r's once r's entry is reached; those after it are skipped unread.
  using time_bytes = std::array<char, codec::packed_time_bytes>;
  auto time_of = [](std::string_view key) {
    time_bytes t;
    std::memcpy(t.data(), key.data() + codec::by_id_id_prefix, t.size());
    return t;
  };
  std::string_view k;
  std::string_view v;
  bool seen_self = false;
  time_bytes self_time{};
  std::optional<time_bytes> counted_before;  // the oldest counting version before r's entry
  auto first = [&] { return !counted_before || *counted_before == self_time; };
  auto found = cur->seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = cur->get(k, v, MDB_NEXT)) {
    const micros at = codec::by_id_position(k);
    if (at == r.date_added) {
      seen_self = true;
      self_time = time_of(k);
      continue;
    }
    if (!seen_self && counted_before) continue;
    if (seen_self && time_of(k) == self_time) continue;
    codec::object_fields f;
    auto rec = read_record(in.txn, objects, at, f);
    if (!rec) {
      in.note(rec.error());
      return out;
    }
    if (*rec && !f.deleted && f.id == r.id && (!counts || counts(record_of(f, r.collection, at)))) {
      if (seen_self) return {first(), false};
      counted_before = time_of(k);
    }
  }
  if (!found) {
    in.note(found.error());
    return out;
  }
  // r's own entry missing (not a live version of this store): neither.
  if (!seen_self) return out;
  return {first(), true};
}

bool read_txn::earlier_copy(const object_record& r,
                            const std::function<bool(const object_record&)>& counts) const {
  if (!r.later_copy) return false;
  impl& in = *impl_;
  if (!in.txn.active() || r.id.empty() || r.id.size() > codec::max_id_bytes) return false;
  const lmdb::dbi objects = in.store->objects_dbi(r.collection, in.bound);
  if (objects.handle() == 0) return false;
  auto time_key = formats::stix_time_key(r.version);
  char packed[codec::packed_time_bytes];
  if (!time_key || !codec::pack_time_key(*time_key, packed)) return false;
  auto cur = lmdb::cursor::open(in.txn, in.store->by_id);
  if (!cur) {
    in.note(cur.error());
    return false;
  }
  codec::by_id_key key;
  key.set_id(r.collection, in.store->id_hash(r.id));
  key.set_time(packed);
  const std::string_view prefix = key.version_prefix();
  // The copies of r's version, oldest first, up to r's own entry.
  std::string_view k;
  std::string_view v;
  auto found = cur->seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = cur->get(k, v, MDB_NEXT)) {
    const micros at = codec::by_id_position(k);
    if (at >= r.date_added) return false;
    codec::object_fields f;
    auto rec = read_record(in.txn, objects, at, f);
    if (!rec) {
      in.note(rec.error());
      return false;
    }
    if (*rec && !f.deleted && f.id == r.id && (!counts || counts(record_of(f, r.collection, at)))) {
      return true;
    }
  }
  if (!found) in.note(found.error());
  return false;
}

std::optional<status_record> read_txn::status(std::string_view status_id) const {
  impl& in = *impl_;
  if (!in.txn.active() || status_id.empty() || status_id.size() > k_max_status_id_bytes) {
    return std::nullopt;
  }
  auto value = in.store->status.find(in.txn, status_id);
  if (!value) {
    in.note(value.error());
    return std::nullopt;
  }
  if (!*value) return std::nullopt;
  auto s = codec::decode_status(**value);
  if (!s || s->stored_at + in.store->status_retention <= in.store->now()) return std::nullopt;
  if (s->added.empty()) return std::move(s->status);

  // The added versions, from their records (deleted ones still name them).
  std::vector<status_detail> successes;
  const lmdb::dbi objects = in.store->objects_dbi(s->collection, in.bound);
  if (objects.handle() != 0) {
    auto cur = lmdb::cursor::open(in.txn, objects);
    if (!cur) {
      in.note(cur.error());
      return std::nullopt;
    }
    for (const auto& [first, last] : s->added) {
      std::string_view k;
      std::string_view v;
      auto found = cur->seek(codec::position_key(first).view(), k, v);
      for (; found && *found && codec::position_of(k) <= last; found = cur->get(k, v, MDB_NEXT)) {
        codec::object_fields f;
        if (codec::decode_object(v, f)) {
          successes.push_back(status_detail{std::string(f.id), std::string(f.version), {}});
        }
      }
      if (!found) {
        in.note(found.error());
        return std::nullopt;
      }
    }
  }
  successes.insert(successes.end(), std::make_move_iterator(s->status.successes.begin()),
                   std::make_move_iterator(s->status.successes.end()));
  s->status.successes = std::move(successes);
  return std::move(s->status);
}

const std::optional<error>& read_txn::last_error() const {
  return impl_->last_error;
}

}  // namespace cairn::storage

#include "storage/lmdb_dump.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/time.hpp"
#include "storage/audit_codec.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"
#include "storage/lmdb_options.hpp"

namespace cairn::storage {

namespace ac = audit_codec;

namespace {

// The object store's layout (object_store.cpp): schema 2, its meta keys and
// the per-collection databases.
constexpr std::uint32_t k_schema = 2;
constexpr std::string_view k_meta_schema = "schema";
constexpr std::string_view k_meta_collection_prefix = "c/";
constexpr unsigned k_max_dbs = 100'100;  // as the verifier: up to 100,000 collections
constexpr std::uint64_t k_progress_every = 4096;

class lock_file {
 public:
  lock_file() = default;
  lock_file(const lock_file&) = delete;
  lock_file& operator=(const lock_file&) = delete;
  ~lock_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  result<void> acquire(const std::string& dir) {
    const std::string path = dir + "/cairn.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return fail("no store in " + dir + " (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return fail("the store in " + dir + " is in use by a running cairnd: stop it first");
    }
    return {};
  }

 private:
  int fd_ = -1;
};

class dumper {
 public:
  dumper(const lmdb::txn& t, store_sink& sink,
         const std::function<void(const dump_progress&)>& progress)
      : t_(t), sink_(sink), progress_(progress) {}

  result<dump_progress> run() {
    if (auto r = open_fixed(); !r) return std::unexpected(r.error());
    if (auto r = collections(); !r) return std::unexpected(r.error());
    if (auto r = count(); !r) return std::unexpected(r.error());
    report(true);
    for (const auto& [key, name] : names_) {
      if (auto r = versions(key); !r) return std::unexpected(r.error());
    }
    if (auto r = statuses(); !r) return std::unexpected(r.error());
    if (auto r = records(); !r) return std::unexpected(r.error());
    if (auto r = checkpoints(); !r) return std::unexpected(r.error());
    report(true);
    return progress;
  }

  dump_progress progress;

 private:
  lmdb::txn& writable() const { return const_cast<lmdb::txn&>(t_); }

  static std::unexpected<error> read_failure(const lmdb::error& e) {
    return fail(errc::io, "cannot read the store: " + e.message);
  }
  static std::unexpected<error> damaged(const std::string& what) {
    return fail(errc::io, "the store is damaged: " + what);
  }

  void report(bool always) {
    if (!progress_) return;
    const std::uint64_t done = progress.versions + progress.records;
    if (always || done >= next_report_) {
      next_report_ = done + k_progress_every;
      progress_(progress);
    }
  }

  result<lmdb::dbi> open_db(const std::string& name) {
    auto d = lmdb::dbi::open(writable(), name.c_str(), 0);
    if (!d) {
      if (d.error().code == MDB_NOTFOUND) {
        return fail("not a complete Cairn store: its database " + name + " is missing");
      }
      return read_failure(d.error());
    }
    return *d;
  }

  result<void> open_fixed() {
    auto meta = open_db("meta");
    if (!meta) return std::unexpected(meta.error());
    meta_ = *meta;
    auto schema = meta_.find(t_, k_meta_schema);
    if (!schema) return read_failure(schema.error());
    const std::uint32_t found =
        *schema && (*schema)->size() == 4 ? codec::get_u32be((*schema)->data()) : 0;
    if (found == 1) {
      // Read as it is, every versioned record would look damaged.
      return fail(
          "the store has the layout of schema version 1: start cairnd on it once (it migrates "
          "the store when it opens it), stop it, then migrate");
    }
    if (found != k_schema) {
      return fail("the store has schema version " + std::to_string(found) +
                  "; this cairnd reads version " + std::to_string(k_schema));
    }
    for (auto [name, out] : {std::pair<const char*, lmdb::dbi*>{"status", &status_},
                             {ac::db_records, &records_},
                             {ac::db_checkpoints, &checkpoints_}}) {
      auto d = open_db(name);
      if (!d) return std::unexpected(d.error());
      *out = *d;
    }
    return {};
  }

  // meta "c/<name>" -> key, handed over in key order.
  result<void> collections() {
    auto cur = lmdb::cursor::open(t_, meta_);
    if (!cur) return read_failure(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->seek(k_meta_collection_prefix, k, v);
    for (; found && *found && k.starts_with(k_meta_collection_prefix);
         found = cur->get(k, v, MDB_NEXT)) {
      if (v.size() != 4) return damaged("collection entry " + std::string(k) + " is malformed");
      const collection_key key = codec::get_u32be(v.data());
      names_.emplace(key, std::string(k.substr(k_meta_collection_prefix.size())));
    }
    if (!found) return read_failure(found.error());
    for (const auto& [key, name] : names_) {
      auto d = open_db("objects/" + std::to_string(key));
      if (!d) return std::unexpected(d.error());
      objects_.emplace(key, *d);
      if (auto r = sink_.collection(name, key); !r) return r;
    }
    return {};
  }

  // Totals for the progress: every stored version record (deleted ones are
  // taken off as they are met) and every audit record.
  result<void> count() {
    for (const auto& [key, d] : objects_) {
      auto st = d.stat(t_);
      if (!st) return read_failure(st.error());
      progress.versions_total += st->ms_entries;
    }
    auto st = records_.stat(t_);
    if (!st) return read_failure(st.error());
    progress.records_total = st->ms_entries;
    return {};
  }

  result<void> versions(collection_key key) {
    auto cur = lmdb::cursor::open(t_, objects_.at(key));
    if (!cur) return read_failure(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      codec::object_fields f;
      if (k.size() != codec::object_key_bytes || !codec::decode_object(v, f)) {
        return damaged("a version in collection " + std::to_string(key) + " is malformed");
      }
      if (f.deleted) {
        --progress.versions_total;
        continue;
      }
      const object_record r{
          key,    codec::position_of(k), f.id,     f.version, f.spec_version, f.publisher, f.tlp,
          f.json, f.later_copy,          f.id_copy};
      if (auto sent = sink_.version(r); !sent) return sent;
      ++progress.versions;
      report(false);
    }
    if (!found) return read_failure(found.error());
    return {};
  }

  // The versions a status's ranges name, as read_txn::status() lists them.
  result<void> expand(codec::stored_status& s) {
    if (s.added.empty()) return {};
    auto d = objects_.find(s.collection);
    if (d == objects_.end()) return damaged("status " + s.status.id + " names no collection");
    std::vector<std::pair<micros, status_detail>> added;
    auto cur = lmdb::cursor::open(t_, d->second);
    if (!cur) return read_failure(cur.error());
    for (const auto& range : s.added) {
      for (unsigned level = 0; level < codec::tlp_levels; ++level) {
        if (range.level != codec::any_level && range.level != level) continue;
        const auto tlp = static_cast<formats::tlp_level>(level);
        std::string_view k;
        std::string_view v;
        auto found = cur->seek(codec::object_key(tlp, range.first).view(), k, v);
        for (; found && *found && codec::level_of_key(k) == level &&
               codec::position_of(k) <= range.last;
             found = cur->get(k, v, MDB_NEXT)) {
          codec::object_fields f;
          if (codec::decode_object(v, f)) {
            added.emplace_back(codec::position_of(k),
                               status_detail{std::string(f.id), std::string(f.version), {}});
          }
        }
        if (!found) return read_failure(found.error());
      }
    }
    std::stable_sort(added.begin(), added.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<status_detail> successes;
    successes.reserve(added.size() + s.status.successes.size());
    for (auto& [at, detail] : added) successes.push_back(std::move(detail));
    successes.insert(successes.end(), std::make_move_iterator(s.status.successes.begin()),
                     std::make_move_iterator(s.status.successes.end()));
    s.status.successes = std::move(successes);
    return {};
  }

  result<void> statuses() {
    const micros now = formats::now_micros();
    const micros retention = store_options{}.status_retention;
    auto cur = lmdb::cursor::open(t_, status_);
    if (!cur) return read_failure(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      auto s = codec::decode_status(v);
      if (!s) return damaged("status " + std::string(k) + " is malformed");
      if (s->stored_at + retention <= now) continue;  // expired: the server no longer shows it
      if (auto r = expand(*s); !r) return r;
      if (auto r = sink_.status(s->status, s->stored_at); !r) return r;
    }
    if (!found) return read_failure(found.error());
    return {};
  }

  // Each record as the log's record_json() writes it: the same bytes the
  // auditors were given, with prev and hash.
  result<void> records() {
    auto cur = lmdb::cursor::open(t_, records_);
    if (!cur) return read_failure(cur.error());
    formats::merkle::digest prev{};
    std::uint64_t seq = 0;
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      ++seq;
      if (k.size() != 8 || ac::u64_of(k) != seq) {
        return damaged("audit record " + std::to_string(seq) + " is missing");
      }
      ac::record_fields f;
      if (!ac::decode_record(v, f)) {
        return damaged("audit record " + std::to_string(seq) + " cannot be decoded");
      }
      lmdb::dbi objects;
      if (!f.runs.empty()) {
        auto d = objects_.find(f.key);
        if (d == objects_.end()) {
          return damaged("audit record " + std::to_string(seq) + " names an unknown collection");
        }
        objects = d->second;
      }
      std::string objects_json;
      auto expanded = ac::expand_objects(t_, objects, f, objects_json);
      if (!expanded) return read_failure(expanded.error());
      if (!*expanded) {
        return damaged("audit record " + std::to_string(seq) + " names versions the store lacks");
      }
      formats::audit_record r = ac::record_of(seq, f);
      r.prev = prev;
      if (auto sent = sink_.audit_record(formats::audit_record_json(r, objects_json)); !sent) {
        return sent;
      }
      prev = f.hash;
      ++progress.records;
      report(false);
    }
    if (!found) return read_failure(found.error());
    return {};
  }

  // Keyed by tree size: oldest first.
  result<void> checkpoints() {
    auto cur = lmdb::cursor::open(t_, checkpoints_);
    if (!cur) return read_failure(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      auto c = formats::parse_checkpoint(v);
      if (!c) {
        return damaged("the checkpoint at tree size " + std::to_string(ac::u64_of(k)) +
                       " is malformed: " + c.error().message);
      }
      if (auto sent = sink_.checkpoint(*c); !sent) return sent;
    }
    if (!found) return read_failure(found.error());
    return {};
  }

  const lmdb::txn& t_;
  store_sink& sink_;
  const std::function<void(const dump_progress&)>& progress_;
  std::uint64_t next_report_ = 0;
  lmdb::dbi meta_, status_, records_, checkpoints_;
  std::map<collection_key, std::string> names_;
  std::map<collection_key, lmdb::dbi> objects_;
};

}  // namespace

result<dump_progress> dump_lmdb_store(const std::string& store_path, store_sink& sink,
                                      const std::function<void(const dump_progress&)>& progress) {
  lock_file lock;
  if (auto locked = lock.acquire(store_path); !locked) return std::unexpected(locked.error());
  auto e = lmdb::env::create();
  if (!e) return fail(e.error().message);
  lmdb::status st = e->set_maxdbs(k_max_dbs);
  // The directory lock keeps every other process out: no LMDB reader table.
  if (st) st = e->open(store_path.c_str(), MDB_RDONLY | MDB_NOLOCK, 0600);
  if (!st) return fail("cannot open the store in " + store_path + ": " + st.error().message);
  auto t = lmdb::txn::begin(*e, nullptr, MDB_RDONLY);
  if (!t) return fail("cannot read the store: " + t.error().message);
  dumper d(*t, sink, progress);
  return d.run();
}

}  // namespace cairn::storage

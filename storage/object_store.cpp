#include "storage/object_store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <random>
#include <span>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "formats/observables.hpp"
#include "storage/codec.hpp"
#include "storage/database.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "storage/map_guard.hpp"
#include "storage/object_walk.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

namespace {

constexpr micros k_hour = micros{3600} * 1'000'000;
constexpr micros k_min_status_retention = 24 * k_hour;
constexpr micros k_purge_interval = k_hour;
constexpr std::size_t k_purge_per_job = 10'000;  // keeps a purge from making one huge commit
// 1: objects keyed by date_added alone. 2: keyed by (level, date_added),
// with the by_publisher index and levels in by_id values (codec.hpp).
constexpr std::uint32_t k_schema = 2;
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

// The newest marks (codec::flag_newest) of collection c are trusted while
// this key equals last_added_meta_key(c): every publish that adds versions
// writes both. A release without the marks, run on the store in between,
// moves "last/" alone: from then on the collection's marks are not trusted
// (its versions are ranked by reading, as before), as a mark it left on a
// version it then superseded would be wrong.
std::string marks_meta_key(collection_key c) {
  std::string k = "marks/";
  k.append(codec::collection_bytes(c).view());
  return k;
}

// Whether the stored "marks/" and "last/" values say c's marks hold; false
// also while c has none of either.
lmdb::result<bool> marks_hold(const lmdb::txn& t, lmdb::dbi meta, collection_key c) {
  auto marks = meta.find(t, marks_meta_key(c));
  if (!marks) return std::unexpected(marks.error());
  auto last = meta.find(t, last_added_meta_key(c));
  if (!last) return std::unexpected(last.error());
  return *marks && *last && **marks == **last;
}

std::string deleted_meta_key(collection_key c) {
  std::string k = "deleted/";
  k.append(codec::collection_bytes(c).view());
  return k;
}

// Set once every stored version has its observables indexed (a store
// written before the index existed is indexed at open).
constexpr std::string_view k_meta_observables = "observables_indexed";
// Set once every stored status has its status_owner entry (a store written
// before that index existed is indexed at open).
constexpr std::string_view k_meta_status_owners = "status_owners_indexed";

// The observables database. Key: collection (4, big-endian) | kind (1) |
// value | 0x00 | date_added (8, big-endian), so that one (collection, kind,
// value) is a range in date_added order and the values of a kind follow in
// byte order. A value longer than k_max_keyed_value bytes keys its first
// k_max_keyed_value bytes and 0x01, and the whole value follows in the
// entry (normal forms hold no byte below 0x20, so neither marker sorts
// inside a value). Entry: TLP level (1) | flags (1) | [whole value].
constexpr std::size_t k_max_keyed_value = 400;
constexpr std::uint8_t k_obs_cidr = 1;
constexpr std::uint8_t k_obs_exportable = 2;
constexpr std::uint8_t k_obs_long = 4;

std::string observable_prefix(collection_key c, formats::observable_kind k) {
  std::string out(codec::collection_bytes(c).view());
  out.push_back(static_cast<char>(k));
  return out;
}

// The key up to date_added: every entry of (c, k, value).
std::string observable_value_prefix(collection_key c, formats::observable_kind k,
                                    std::string_view value) {
  std::string out = observable_prefix(c, k);
  if (value.size() > k_max_keyed_value) {
    out.append(value.substr(0, k_max_keyed_value));
    out.push_back('\x01');
  } else {
    out.append(value);
  }
  out.push_back('\0');
  return out;
}

bool indexable(const formats::observable& o) {
  return !o.value.empty() &&
         o.value.find_first_of(std::string_view("\0\x01", 2)) == std::string::npos;
}

lmdb::status put_observables(lmdb::txn& t, lmdb::dbi index, collection_key c, micros date_added,
                             formats::tlp_level level,
                             const std::vector<formats::observable>& observables) {
  for (const auto& o : observables) {
    if (!indexable(o)) continue;
    std::string key = observable_value_prefix(c, o.kind, o.value);
    key.append(codec::position_key(date_added).view());
    std::string value;
    value.push_back(static_cast<char>(level));
    const bool long_value = o.value.size() > k_max_keyed_value;
    value.push_back(static_cast<char>((o.cidr ? k_obs_cidr : 0) |
                                      (o.exportable ? k_obs_exportable : 0) |
                                      (long_value ? k_obs_long : 0)));
    if (long_value) value.append(o.value);
    if (auto st = index.put(t, key, value); !st) return st;
  }
  return {};
}

std::string objects_db_name(collection_key c) {
  return "objects/" + std::to_string(c);
}

// The new versions that the publish jobs of one commit add, numbered together
// (see publish_outcome in object_store.hpp). Built by the jobs' prepare()
// calls, in job order, before any of them runs; writer thread only.
struct commit_plan {
  // A new version, as later jobs of the commit see it for their duplicates.
  // The pointers are into the jobs' requests, which outlive the batch.
  struct pending {
    const new_object* object = nullptr;  // an empty version is assigned later
    const std::string* publisher = nullptr;
    std::size_t index = 0;  // among the commit's new versions of its level
    std::array<char, codec::packed_time_bytes> packed{};  // of a given version
    std::uint64_t id_hash = 0;
    std::uint32_t next = 0;  // 1 + the previous pending of the same id_hash slot; 0: none
  };
  // The pending versions of one collection by id_hash: an open-addressing
  // table of chains (a commit adds up to a few hundred thousand versions, and
  // a node per version would cost more than the rest of the planning).
  class pending_index {
   public:
    // Calls fn(p) for the pending versions whose id_hash is h, newest first,
    // until fn returns true; returns whether it did.
    template <class Fn>
    bool find(std::uint64_t h, Fn&& fn) const {
      if (slots_.empty()) return false;
      for (std::size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
        const std::uint32_t head = slots_[i];
        if (head == 0) return false;
        if (all_[head - 1].id_hash != h) continue;
        for (std::uint32_t at = head; at != 0; at = all_[at - 1].next) {
          if (fn(all_[at - 1])) return true;
        }
        return false;
      }
    }
    void add(pending p) {
      if ((all_.size() + 1) * 2 > slots_.size()) grow();
      std::size_t i = p.id_hash & (slots_.size() - 1);
      while (slots_[i] != 0 && all_[slots_[i] - 1].id_hash != p.id_hash) {
        i = (i + 1) & (slots_.size() - 1);
      }
      p.next = slots_[i];
      all_.push_back(p);
      slots_[i] = static_cast<std::uint32_t>(all_.size());
    }

   private:
    void grow() {
      std::vector<std::uint32_t> old = std::move(slots_);
      slots_.assign(std::max<std::size_t>(64, old.size() * 2), 0);
      for (const std::uint32_t head : old) {
        if (head == 0) continue;
        std::size_t i = all_[head - 1].id_hash & (slots_.size() - 1);
        while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
        slots_[i] = head;
      }
    }
    std::vector<pending> all_;
    std::vector<std::uint32_t> slots_;  // 1 + index in all_ of a chain's newest; 0: empty
  };
  struct per_collection {
    std::array<std::size_t, codec::tlp_levels> count{};  // new versions per level
    bool numbered = false;
    std::array<micros, codec::tlp_levels> start{};  // position of each level's first
    micros last = 0;                                // the commit's last position
    pending_index by_id;
    micros position(formats::tlp_level level, std::size_t index) const {
      return start[static_cast<unsigned>(level)] + static_cast<micros>(index);
    }
  };
  std::uint64_t attempt = 0;
  std::unordered_map<collection_key, per_collection> collections;
};

// Everything the store, its jobs and its read txns share.
struct store_core {
  store_options options;
  micros status_retention = 0;
  std::shared_ptr<database> db;
  bool own_db = false;  // opened by object_store::open(options) alone
  lmdb::dbi by_id;
  lmdb::dbi by_publisher;
  lmdb::dbi status;
  lmdb::dbi status_time;
  lmdb::dbi status_owner;
  lmdb::dbi meta;
  lmdb::dbi observables;
  codec::hash_key id_key;  // keys by_id's hash of object ids; random per store
  // objects/<key> handles by collection key; 0 until the db is committed.
  std::unique_ptr<std::atomic<MDB_dbi>[]> objects;
  // Every key up to this one has its handle in objects (keys are handed out in
  // order, and published only after their db was committed).
  std::atomic<collection_key> published{0};
  std::atomic<micros> next_purge{0};
  std::atomic<std::uint64_t> purged{0};
  commit_plan plan;  // writer thread only

  micros now() const { return db->now(); }

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

  // Keys by_publisher; a separate domain from id_hash's inputs.
  std::uint64_t publisher_hash(std::string_view name) const {
    std::string input = "publisher\n";
    input += name;
    return codec::siphash24(id_key, input);
  }

  // Keys status_owner; a domain of its own, as publisher_hash.
  std::uint64_t owner_hash(std::string_view name) const {
    std::string input = "status owner\n";
    input += name;
    return codec::siphash24(id_key, input);
  }

  // The status_owner key of an encoded status; empty when it is malformed.
  std::string owner_key_of(std::string_view status_value) const {
    auto old = codec::decode_status(status_value);
    if (!old) return {};
    return codec::status_owner_key(owner_hash(old->status.owner), old->status.request_timestamp,
                                   old->status.id);
  }

  void maybe_purge();
};

// The objects record at position at (deleted ones too), of the given level
// when known (a by_id value), else of whichever level holds it; false when
// absent or malformed. The views in f point into the map.
lmdb::result<bool> read_record(const lmdb::txn& t, lmdb::dbi objects, micros at,
                               std::optional<formats::tlp_level> level, codec::object_fields& f) {
  if (!level) {
    auto found = find_version(t, objects, at);
    if (!found) return std::unexpected(found.error());
    return found->has_value() && codec::decode_object((*found)->value, f);
  }
  auto value = objects.find(t, codec::object_key(*level, at).view());
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
  r.id_copy = f.id_copy;
  return r;  // newest: only where the collection's marks are known to hold (read_txn)
}

// Whether the record f (at position at of collection c) of object id makes a
// new version a duplicate: same id, and the request's test, if any, agrees.
bool counts_as_duplicate(const codec::object_fields& f, std::string_view id, collection_key c,
                         micros at, const duplicate_test& test) {
  if (f.id != id) return false;  // a hash collision
  if (!test) return true;
  return test(record_of(f, c, at));
}

// Walks the by_id entries under prefix (of a by_id_key) from the first one, and finds the first
// whose record has object id `id` and counts as a duplicate. Sets version (when not null) to that
// record's version. Entries under the same prefix with another id are hash collisions and are
// skipped.
struct stored_copies {
  bool duplicate = false;  // one counts as a duplicate
  bool any = false;        // a record of the id is there (for a version prefix: a copy of it)
};
lmdb::result<stored_copies> find_entry(lmdb::cursor& ids, const lmdb::txn& t, lmdb::dbi objects,
                                       std::string_view prefix, std::string_view id,
                                       std::string* version, collection_key c,
                                       const duplicate_test& test) {
  stored_copies out;
  std::string_view k;
  std::string_view v;
  auto found = ids.seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = ids.get(k, v, MDB_NEXT)) {
    codec::object_fields f;
    const micros at = codec::by_id_position(k);
    auto rec = read_record(t, objects, at, codec::level_of_value(v), f);
    if (!rec) return std::unexpected(rec.error());
    if (!*rec || f.id != id) continue;  // a hash collision
    out.any = true;
    if (counts_as_duplicate(f, id, c, at, test)) {
      if (version) version->assign(f.version);
      out.duplicate = true;
      return out;
    }
  }
  if (!found) return std::unexpected(found.error());
  return out;
}

// Reads a collection's key in a short read txn of its own.
result<std::optional<collection_key>> find_collection(const store_core& s, std::string_view id) {
  s.db->guard().enter_shared();
  std::optional<collection_key> found;
  lmdb::status st;
  {
    auto t = lmdb::txn::begin(s.db->env(), nullptr, MDB_RDONLY);
    if (!t) {
      st = std::unexpected(t.error());
    } else if (auto v = s.meta.find(*t, collection_meta_key(id)); !v) {
      st = std::unexpected(v.error());
    } else if (*v && (*v)->size() == 4) {
      found = codec::get_u32be((*v)->data());
    }
  }
  s.db->guard().leave_shared();
  if (!st) return fail(st.error().message);
  return found;
}

// ---- write jobs ---------------------------------------------------------------

class publish_job_impl final : public publish_job {
 public:
  publish_job_impl(store_core& store, publish_request request,
                   std::function<void(result<publish_outcome>)> done)
      : store_(store), request_(std::move(request)), done_(std::move(done)) {
    weight_ = 256 + request_.status.id.size();
    for (const auto& o : request_.objects) weight_ += o.json.size() + 2 * o.id.size() + 128;
  }

  std::size_t weight() const override { return weight_; }
  bool solo() const override { return request_.own_commit; }

  // Decides, for each object, whether it fails, is a duplicate (of a stored
  // version or of one an earlier job of this commit adds) or is new, and
  // registers the new ones in the commit's plan, which numbers them once
  // every job of the commit has been planned (see publish_outcome).
  void prepare(const lmdb::txn& t, std::uint64_t attempt) override {
    commit_plan& plan = store_.plan;
    if (plan.attempt != attempt) {
      plan.collections.clear();
      plan.attempt = attempt;
    }
    entries_.clear();
    check_.reset();
    read_error_.reset();
    const collection_key c = request_.collection;
    objects_ = store_.objects_dbi(c, store_.published.load());
    if (objects_.handle() == 0) {
      check_ = job_error("unknown collection key " + std::to_string(c));
      return;
    }
    if (request_.publisher.size() > codec::max_publisher_bytes) {
      check_ = job_error("publisher name longer than " +
                         std::to_string(codec::max_publisher_bytes) + " bytes");
      return;
    }
    if (request_.status.id.size() > k_max_status_id_bytes) {
      check_ =
          job_error("status id longer than " + std::to_string(k_max_status_id_bytes) + " bytes");
      return;
    }
    auto ids = lmdb::cursor::open(t, store_.by_id);
    if (!ids) {
      read_error_ = ids.error();
      return;
    }
    commit_plan::per_collection& mine = plan.collections[c];
    codec::by_id_key key;
    entries_.reserve(request_.objects.size());
    for (const new_object& obj : request_.objects) {
      entry e;
      e.object = &obj;
      if (obj.id.empty() || obj.id.size() > codec::max_id_bytes) {
        e.why =
            "object id is empty or longer than " + std::to_string(codec::max_id_bytes) + " bytes";
        entries_.push_back(std::move(e));
        continue;
      }
      if (obj.version.size() > codec::max_version_bytes ||
          obj.spec_version.size() > codec::max_spec_version_bytes) {
        e.why = "version or spec_version too long";
        entries_.push_back(std::move(e));
        continue;
      }
      if (static_cast<unsigned>(obj.tlp) >= codec::tlp_levels) {
        e.why = "unknown TLP level";
        entries_.push_back(std::move(e));
        continue;
      }
      e.id_hash = store_.id_hash(obj.id);
      const std::uint64_t id_hash = e.id_hash;
      key.set_id(c, id_hash);
      if (!obj.version.empty()) {
        auto time_key = formats::stix_time_key(obj.version);
        if (!time_key || !codec::pack_time_key(*time_key, e.packed)) {
          e.why = "version is not a STIX timestamp" +
                  (time_key ? std::string() : ": " + time_key.error().message);
          entries_.push_back(std::move(e));
          continue;
        }
        key.set_time(e.packed);
      }
      // A stored version that makes this a duplicate: same id (and version,
      // when it has one); for an object without a version, any version.
      const std::string_view prefix = obj.version.empty() ? key.id_prefix() : key.version_prefix();
      auto stored = find_entry(*ids, t, objects_, prefix, obj.id, &e.duplicate_version, c,
                               request_.duplicate_if);
      if (!stored) {
        read_error_ = stored.error();
        return;
      }
      if (stored->duplicate) {
        e.kind = entry::duplicate;
        entries_.push_back(std::move(e));
        continue;
      }
      // A copy its publisher may not receive: this one is stored too, as a
      // later copy (readers who may receive both get the earlier one).
      // Without a version, a copy of any version of its id (see id_copy).
      e.later_copy = stored->any;
      e.id_copy = obj.version.empty() && stored->any;
      // One that an earlier job of this commit (or this request) adds.
      mine.by_id.find(id_hash, [&](const commit_plan::pending& p) {
        if (p.object->id != obj.id) return false;  // a hash collision
        // The same version (as by_id compares them: the same instant).
        if (!obj.version.empty() &&
            (p.object->version.empty() ||
             std::memcmp(p.packed.data(), e.packed, codec::packed_time_bytes) != 0)) {
          return false;
        }
        if (request_.duplicate_if) {
          object_record r;
          r.collection = c;
          r.id = obj.id;
          r.version = p.object->version;
          r.spec_version = p.object->spec_version;
          r.publisher = *p.publisher;
          r.tlp = p.object->tlp;
          r.json = p.object->json;
          if (!request_.duplicate_if(r)) {
            // Numbered by level, this copy may come before that one; the
            // flag, not the position, makes it the later one.
            e.later_copy = true;
            if (obj.version.empty()) e.id_copy = true;
            return false;
          }
        }
        e.kind = entry::duplicate_in_commit;
        e.duplicate_version = p.object->version;
        e.level = p.object->tlp;
        e.index = p.index;
        return true;
      });
      if (e.kind == entry::duplicate_in_commit) {
        entries_.push_back(std::move(e));
        continue;
      }
      e.kind = entry::added;
      e.level = obj.tlp;
      e.index = mine.count[static_cast<unsigned>(obj.tlp)]++;
      commit_plan::pending p{&obj, &request_.publisher, e.index, {}, id_hash, 0};
      std::memcpy(p.packed.data(), e.packed, codec::packed_time_bytes);
      mine.by_id.add(p);
      entries_.push_back(std::move(e));
    }
  }

  lmdb::status run(lmdb::txn& t) override {
    out_ = publish_outcome{};
    out_.status = request_.status;
    if (check_) return std::unexpected(*check_);
    if (read_error_) return std::unexpected(*read_error_);
    const collection_key c = request_.collection;
    auto planned = store_.plan.collections.find(c);
    if (planned == store_.plan.collections.end()) {
      return std::unexpected(job_error("publish job run without its plan"));
    }
    commit_plan::per_collection& plan = planned->second;
    const micros now = store_.now();
    if (!plan.numbered) {
      if (auto st = number(t, c, plan, now); !st) return st;
    }

    // The marks stay trusted when they were (or when the collection has
    // none yet: nothing to distrust).
    auto marks_existed = store_.meta.find(t, marks_meta_key(c));
    if (!marks_existed) return std::unexpected(marks_existed.error());
    auto marks_kept = marks_hold(t, store_.meta, c);
    if (!marks_kept) return std::unexpected(marks_kept.error());
    const bool keep_marks = !*marks_existed || *marks_kept;

    auto appender = lmdb::cursor::open(t, objects_);
    if (!appender) return std::unexpected(appender.error());
    auto ids = lmdb::cursor::open(t, store_.by_id);
    if (!ids) return std::unexpected(ids.error());
    const std::uint64_t publisher_hash = store_.publisher_hash(request_.publisher);

    // In position order: level by level, so that appends stay appends when
    // no higher level follows in the database.
    std::vector<entry*> added;
    for (entry& e : entries_) {
      if (e.kind == entry::added) added.push_back(&e);
    }
    std::stable_sort(added.begin(), added.end(),
                     [](const entry* a, const entry* b) { return a->level < b->level; });
    std::array<bool, codec::tlp_levels> may_append;
    may_append.fill(true);
    codec::by_id_key key;
    for (entry* e : added) {
      const new_object& obj = *e->object;
      const micros date_added = plan.position(e->level, e->index);
      std::string_view version = obj.version;
      if (version.empty()) {
        e->assigned = formats::format_taxii_time(date_added);
        version = e->assigned;
        auto time_key = formats::stix_time_key(version);
        if (!time_key || !codec::pack_time_key(*time_key, e->packed)) {
          return std::unexpected(job_error("cannot pack an assigned version"));
        }
      }
      key.set_id(c, e->id_hash);
      key.set_time(e->packed);
      key.set_position(date_added);
      auto newest = settle_newest(t, *ids, key, obj.id);
      if (!newest) return std::unexpected(newest.error());
      if (auto st = ids->put(key.full(), codec::level_value(e->level).view()); !st) return st;

      codec::object_fields fields{obj.id,   version, obj.spec_version, request_.publisher, obj.json,
                                  e->level, false};
      fields.later_copy = e->later_copy;
      fields.id_copy = e->id_copy;
      fields.newest = *newest;
      const auto position = codec::object_key(e->level, date_added);
      const std::size_t bytes = codec::object_value_bytes(fields);
      const unsigned l = static_cast<unsigned>(e->level);
      lmdb::result<char*> space = std::unexpected(lmdb::error{});
      if (may_append[l]) {
        space = appender->reserve(position.view(), bytes, MDB_APPEND);
        if (!space && space.error().code == MDB_KEYEXIST) {
          // A higher level follows: a plain insert at the end of this level.
          may_append[l] = false;
        }
      }
      if (!may_append[l]) space = appender->reserve(position.view(), bytes);
      if (!space) return std::unexpected(space.error());
      codec::encode_object(*space, fields);
      if (auto st =
              put_observables(t, store_.observables, c, date_added, e->level, obj.observables);
          !st) {
        return st;
      }

      out_.added_positions.push_back(date_added);
    }

    // The status lists, in this order: added versions by position, then the
    // request's own successes, then duplicates (as read back later).
    std::vector<status_detail> listed_added;
    std::vector<std::pair<micros, const entry*>> by_position;
    for (const entry* e : added) by_position.emplace_back(plan.position(e->level, e->index), e);
    std::sort(by_position.begin(), by_position.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [at, e] : by_position) {
      listed_added.push_back(status_detail{
          e->object->id, e->object->version.empty() ? e->assigned : e->object->version, {}});
    }
    for (entry& e : entries_) {
      const new_object& obj = *e.object;
      switch (e.kind) {
        case entry::failed:
          out_.status.failures.push_back(
              status_detail{obj.id.substr(0, codec::max_id_bytes),
                            obj.version.substr(0, codec::max_version_bytes), std::move(e.why)});
          break;
        // A duplicate reports the version as the request gave it, or, for an
        // object without one, the version stored (or assigned in this commit).
        case entry::duplicate:
          duplicate(obj, obj.version.empty() ? e.duplicate_version : obj.version);
          break;
        case entry::duplicate_in_commit: {
          // Of a version an earlier job of this commit added: unless that job
          // failed, in which case this object is not stored either.
          const micros at = plan.position(e.level, e.index);
          auto there = objects_.find(t, codec::object_key(e.level, at).view());
          if (!there) return std::unexpected(there.error());
          if (!*there) {
            out_.status.failures.push_back(status_detail{
                obj.id, obj.version,
                "not stored: the same version in another request of this commit failed; send "
                "it again"});
            break;
          }
          duplicate(obj, !obj.version.empty()          ? obj.version
                         : e.duplicate_version.empty() ? formats::format_taxii_time(at)
                                                       : e.duplicate_version);
          break;
        }
        case entry::added: break;
      }
    }

    out_.added = out_.added_positions.size();
    std::sort(out_.added_positions.begin(), out_.added_positions.end());
    if (out_.added > 0) {
      out_.first_date_added = out_.added_positions.front();
      out_.last_date_added = out_.added_positions.back();
      const auto last = codec::position_key(plan.last);
      if (auto st = store_.meta.put(t, last_added_meta_key(c), last.view()); !st) return st;
      if (keep_marks) {
        if (auto st = store_.meta.put(t, marks_meta_key(c), last.view()); !st) return st;
      }
    }
    // The added versions as one range of positions per level: this job's
    // versions of one level are consecutive among the commit's.
    std::vector<codec::added_range> ranges;
    for (const entry* e : added) {
      const micros at = plan.position(e->level, e->index);
      const auto l = static_cast<std::uint8_t>(e->level);
      if (!ranges.empty() && ranges.back().level == l && ranges.back().last + 1 == at) {
        ranges.back().last = at;
      } else {
        ranges.push_back({at, at, l});
      }
    }
    for (const auto& r : ranges) {
      if (r.level == static_cast<std::uint8_t>(formats::tlp_level::clear)) continue;
      const auto key = codec::by_publisher_key(c, publisher_hash, r.first);
      const auto value =
          codec::by_publisher_value(static_cast<formats::tlp_level>(r.level), r.last);
      if (auto st = store_.by_publisher.put(t, key.view(), value.view()); !st) return st;
    }
    if (!out_.status.id.empty()) {
      // A status stored again under its id: its old owner entry goes.
      auto old = store_.status.find(t, out_.status.id);
      if (!old) return std::unexpected(old.error());
      if (*old) {
        const std::string old_key = store_.owner_key_of(**old);
        if (!old_key.empty()) {
          if (auto erased = store_.status_owner.erase(t, old_key); !erased) {
            return std::unexpected(erased.error());
          }
        }
      }
      const std::string value = codec::encode_status(out_.status, now, c, ranges);
      if (auto st = store_.status.put(t, out_.status.id, value); !st) return st;
      const std::string owner_key = codec::status_owner_key(
          store_.owner_hash(out_.status.owner), out_.status.request_timestamp, out_.status.id);
      const std::string summary = codec::encode_status_summary(
          out_.status, listed_added.size() + out_.status.successes.size(), now);
      if (auto st = store_.status_owner.put(t, owner_key, summary); !st) return st;
      std::string time_key(codec::position_key(now).view());
      time_key += out_.status.id;
      if (auto st = store_.status_time.put(t, time_key, {}); !st) return st;
    }
    listed_added.insert(listed_added.end(), std::make_move_iterator(out_.status.successes.begin()),
                        std::make_move_iterator(out_.status.successes.end()));
    out_.status.successes = std::move(listed_added);
    return {};
  }

  const publish_outcome& outcome() const override { return out_; }

  void complete(std::optional<error> failure) override {
    if (!done_) return;
    if (failure) {
      done_(std::unexpected(std::move(*failure)));
    } else {
      done_(std::move(out_));
    }
  }

 private:
  struct entry {
    enum kind_t { failed, duplicate, duplicate_in_commit, added } kind = failed;
    const new_object* object = nullptr;
    std::string why;                // failed
    std::string duplicate_version;  // duplicate, duplicate_in_commit (empty: assigned)
    formats::tlp_level level = formats::tlp_level::clear;  // added, duplicate_in_commit
    std::size_t index = 0;                                 // among the commit's of its level
    std::uint64_t id_hash = 0;
    char packed[codec::packed_time_bytes] = {};
    std::string assigned;     // an assigned version
    bool later_copy = false;  // added: a copy of (id, version) was stored or planned before
    bool id_copy = false;     // added, without a version: a version of its id was there
  };

  // Numbers the commit's new versions of collection c, once, at the first
  // job that runs: level by level from max(now, last + 1). Every job of the
  // commit was planned by then (prepare() ran on all of them first).
  lmdb::status number(lmdb::txn& t, collection_key c, commit_plan::per_collection& plan,
                      micros now) {
    // The last position given out: the meta record, and the last key of
    // each level, so that a new position is always past every stored one.
    micros last = 0;
    auto meta_last = store_.meta.find(t, last_added_meta_key(c));
    if (!meta_last) return std::unexpected(meta_last.error());
    if (*meta_last && (*meta_last)->size() == 8) {
      last = static_cast<micros>(codec::get_u64be((*meta_last)->data()));
    }
    auto cur = lmdb::cursor::open(t, objects_);
    if (!cur) return std::unexpected(cur.error());
    for (unsigned l = 0; l < codec::tlp_levels; ++l) {
      std::string_view k;
      std::string_view v;
      auto next_level =
          l + 1 < codec::tlp_levels
              ? cur->seek(codec::object_key(static_cast<formats::tlp_level>(l + 1), 0).view(), k, v)
              : lmdb::result<bool>(false);
      if (!next_level) return std::unexpected(next_level.error());
      auto found = cur->get(k, v, *next_level ? MDB_PREV : MDB_LAST);
      if (!found) return std::unexpected(found.error());
      if (*found && k.size() == codec::object_key_bytes && codec::level_of_key(k) == l) {
        last = std::max(last, codec::position_of(k));
      }
    }
    micros next = std::max(now, last + 1);
    for (unsigned l = 0; l < codec::tlp_levels; ++l) {
      plan.start[l] = next;
      next += static_cast<micros>(plan.count[l]);
    }
    plan.last = next - 1;
    plan.numbered = true;
    return {};
  }

  // Whether the version about to get the by_id entry `key` (of object id)
  // will be the newest of its id in the collection, and, when it will, takes
  // the newest mark (codec::flag_newest) off the stored versions it
  // supersedes, rewriting their records in this transaction. The order is
  // read_txn::version_rank()'s: by_id entries sort by (STIX timestamp,
  // date_added), live entries only (a delete erases its entry), other ids
  // that share the hash skipped; copies of one version share its timestamp
  // and are neither earlier nor later than each other, so they keep their
  // mark and do not take this one's.
  //
  // Only the latest earlier version is read: every version before it was
  // superseded by it, and so lost its mark when it came (or never had one).
  // A delete or purge of the newest version leaves the one before it
  // unmarked: its readers rank it by reading, as before (slower, never
  // wrong).
  lmdb::result<bool> settle_newest(lmdb::txn& t, lmdb::cursor& ids, const codec::by_id_key& key,
                                   std::string_view id) {
    struct earlier {
      micros at = 0;
      std::optional<formats::tlp_level> level;
      std::string_view time;  // its timestamp's bytes in its by_id key
    };
    std::vector<earlier> before;
    const std::string_view prefix = key.id_prefix();
    const std::string_view own_version = key.version_prefix();
    auto time_of = [](std::string_view k) {
      return k.substr(codec::by_id_id_prefix, codec::packed_time_bytes);
    };
    std::string_view k;
    std::string_view v;
    auto found = ids.seek(prefix, k, v);
    for (; found && *found && k.starts_with(prefix); found = ids.get(k, v, MDB_NEXT)) {
      if (k.starts_with(own_version)) continue;  // a copy of this version
      const micros at = codec::by_id_position(k);
      const auto level = codec::level_of_value(v);
      if (time_of(k) < time_of(own_version)) {
        before.push_back({at, level, time_of(k)});
        continue;
      }
      codec::object_fields f;
      auto rec = read_record(t, objects_, at, level, f);
      if (!rec) return std::unexpected(rec.error());
      if (*rec && !f.deleted && f.id == id) return false;  // a later version is stored
    }
    if (!found) return std::unexpected(found.error());

    // The latest earlier version of id and its copies, last entry first.
    std::optional<std::string_view> latest;
    std::vector<std::pair<micros, formats::tlp_level>> marked;
    for (auto it = before.rbegin(); it != before.rend(); ++it) {
      if (latest && *latest != it->time) break;
      codec::object_fields f;
      auto rec = read_record(t, objects_, it->at, it->level, f);
      if (!rec) return std::unexpected(rec.error());
      if (!*rec || f.deleted || f.id != id) continue;  // another id with the same hash
      latest = it->time;
      if (f.newest) marked.emplace_back(it->at, f.tlp);
    }
    // Written only now: a write may move the pages the views above point into.
    for (const auto& [at, level] : marked) {
      if (auto st = clear_newest(t, at, level); !st) return std::unexpected(st.error());
    }
    return true;
  }

  // Rewrites the record at (level, at) without the newest mark.
  lmdb::status clear_newest(lmdb::txn& t, micros at, formats::tlp_level level) {
    const auto position = codec::object_key(level, at);
    auto found = objects_.find(t, position.view());
    if (!found) return std::unexpected(found.error());
    if (!*found || (*found)->size() < codec::object_header_bytes) return {};
    std::string value(**found);  // copied out of the map before the write
    value[1] = static_cast<char>(static_cast<std::uint8_t>(value[1]) & ~codec::flag_newest);
    return objects_.put(t, position.view(), value);
  }

  void duplicate(const new_object& obj, std::string_view version) {
    ++out_.duplicates;
    out_.status.successes.push_back(status_detail{obj.id, std::string(version), {}});
  }

  store_core& store_;
  publish_request request_;
  std::function<void(result<publish_outcome>)> done_;
  std::size_t weight_ = 0;
  lmdb::dbi objects_;
  std::vector<entry> entries_;
  std::optional<lmdb::error> check_;       // the job fails as a whole
  std::optional<lmdb::error> read_error_;  // met while planning
  publish_outcome out_;
};

class remove_job_impl final : public remove_job {
 public:
  remove_job_impl(store_core& store, delete_request request,
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
      auto located = find_version(t, objects, at);
      if (!located) return std::unexpected(located.error());
      codec::object_fields f;
      if (!*located || !codec::decode_object((*located)->value, f) || f.deleted) continue;
      const auto position = codec::object_key((*located)->level, at);

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
      removed_positions_.push_back(at);
    }
    // The deletes so far, for collection_generation(). Index entries of the
    // deleted versions stay: reads skip them as they read the version.
    if (removed_ > 0) {
      const std::string key = deleted_meta_key(c);
      auto before = store_.meta.find(t, key);
      if (!before) return std::unexpected(before.error());
      std::uint64_t count =
          *before && (*before)->size() == 8 ? codec::get_u64be((*before)->data()) : 0;
      char bytes[8];
      codec::put_u64be(bytes, count + removed_);
      if (auto st = store_.meta.put(t, key, std::string_view(bytes, 8)); !st) return st;
    }
    return {};
  }

  const std::vector<micros>& removed() const override { return removed_positions_; }

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
  std::vector<micros> removed_positions_;
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
        const std::string owner_key = store_.owner_key_of(**value);
        if (auto erased = store_.status.erase(t, id); !erased) {
          return std::unexpected(erased.error());
        }
        if (!owner_key.empty()) {
          if (auto erased = store_.status_owner.erase(t, owner_key); !erased) {
            return std::unexpected(erased.error());
          }
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
  db->writer().submit(std::make_unique<purge_job>(*this));
}

// Schema 1 to 2, in the open txn (all or nothing): each collection's
// objects rekeyed from date_added to (level, date_added), the by_publisher
// index built, by_id values given the level, the last position recorded.
// Returns the number of versions moved.
lmdb::result<std::uint64_t> migrate_from_1(
    store_core& s, lmdb::txn& t, const std::vector<std::pair<collection_key, lmdb::dbi>>& known) {
  auto scratch = lmdb::dbi::open(t, "migrate", MDB_CREATE);
  if (!scratch) return std::unexpected(scratch.error());
  std::uint64_t moved = 0;
  for (const auto& [c, objects] : known) {
    micros last = 0;
    {
      auto cur = lmdb::cursor::open(t, objects);
      if (!cur) return std::unexpected(cur.error());
      std::string_view k;
      std::string_view v;
      auto found = cur->get(k, v, MDB_FIRST);
      for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
        codec::object_fields f;
        if (k.size() != 8 || !codec::decode_object(v, f)) {
          return std::unexpected(job_error("collection " + std::to_string(c) +
                                           " has a record that is not in the schema 1 form"));
        }
        const micros at = static_cast<micros>(codec::get_u64be(k.data()));
        last = std::max(last, at);
        if (auto st = scratch->put(t, codec::object_key(f.tlp, at).view(), v); !st) {
          return std::unexpected(st.error());
        }
        if (!f.deleted && f.tlp != formats::tlp_level::clear) {
          // One entry per version: a range of one.
          const auto own = codec::by_publisher_key(c, s.publisher_hash(f.publisher), at);
          if (auto st =
                  s.by_publisher.put(t, own.view(), codec::by_publisher_value(f.tlp, at).view());
              !st) {
            return std::unexpected(st.error());
          }
        }
        ++moved;
      }
      if (!found) return std::unexpected(found.error());
    }
    if (auto st = objects.drop(t); !st) return std::unexpected(st.error());
    {
      // Back in key order, so every put is an append.
      auto from = lmdb::cursor::open(t, *scratch);
      if (!from) return std::unexpected(from.error());
      auto to = lmdb::cursor::open(t, objects);
      if (!to) return std::unexpected(to.error());
      std::string_view k;
      std::string_view v;
      auto found = from->get(k, v, MDB_FIRST);
      for (; found && *found; found = from->get(k, v, MDB_NEXT)) {
        if (auto st = to->put(k, v, MDB_APPEND); !st) return std::unexpected(st.error());
      }
      if (!found) return std::unexpected(found.error());
    }
    if (auto st = scratch->drop(t); !st) return std::unexpected(st.error());
    if (last > 0) {
      const std::string last_key = last_added_meta_key(c);
      auto meta_last = s.meta.find(t, last_key);
      if (!meta_last) return std::unexpected(meta_last.error());
      if (*meta_last && (*meta_last)->size() == 8) {
        last = std::max(last, static_cast<micros>(codec::get_u64be((*meta_last)->data())));
      }
      if (auto st = s.meta.put(t, last_key, codec::position_key(last).view()); !st) {
        return std::unexpected(st.error());
      }
    }
  }
  if (auto st = scratch->drop(t, true); !st) return std::unexpected(st.error());

  // by_id values: the level of each entry's version.
  const std::unordered_map<collection_key, lmdb::dbi> dbs(known.begin(), known.end());
  std::vector<std::pair<std::string, formats::tlp_level>> levels;
  {
    auto cur = lmdb::cursor::open(t, s.by_id);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      if (k.size() != codec::by_id_key_bytes || codec::level_of_value(v)) continue;
      auto in = dbs.find(codec::get_u32be(k.data()));
      if (in == dbs.end()) continue;
      auto located = find_version(t, in->second, codec::by_id_position(k));
      if (!located) return std::unexpected(located.error());
      if (*located) levels.emplace_back(std::string(k), (*located)->level);
    }
    if (!found) return std::unexpected(found.error());
  }
  for (const auto& [k, level] : levels) {
    if (auto st = s.by_id.put(t, k, codec::level_value(level).view()); !st) {
      return std::unexpected(st.error());
    }
  }
  return moved;
}

// Indexes the observables of every live version (a store written before the
// index existed); returns the number of versions read.
lmdb::result<std::uint64_t> index_observables(
    store_core& s, lmdb::txn& t, const std::vector<std::pair<collection_key, lmdb::dbi>>& known) {
  std::uint64_t versions = 0;
  for (const auto& [c, objects] : known) {
    auto cur = lmdb::cursor::open(t, objects);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    // Collected first: writing to another database while the cursor walks
    // this one is fine in LMDB, but the views into the map are not.
    std::vector<std::tuple<micros, formats::tlp_level, std::vector<formats::observable>>> found;
    auto at = cur->get(k, v, MDB_FIRST);
    for (; at && *at; at = cur->get(k, v, MDB_NEXT)) {
      codec::object_fields f;
      if (!codec::decode_object(v, f) || f.deleted) continue;
      ++versions;
      auto observables = formats::observables_of(f.json);
      if (observables.empty()) continue;
      found.emplace_back(codec::position_of(k), f.tlp, std::move(observables));
    }
    if (!at) return std::unexpected(at.error());
    for (const auto& [position, level, observables] : found) {
      if (auto st = put_observables(t, s.observables, c, position, level, observables); !st) {
        return std::unexpected(st.error());
      }
    }
  }
  return versions;
}

// Writes the status_owner entry of every stored status (a store written
// before the index existed); returns the number of statuses indexed. The
// successes a status keeps as ranges are counted from the objects records,
// as read_txn::status() lists them.
lmdb::result<std::uint64_t> index_status_owners(
    store_core& s, lmdb::txn& t, const std::vector<std::pair<collection_key, lmdb::dbi>>& known) {
  const std::unordered_map<collection_key, lmdb::dbi> dbs(known.begin(), known.end());
  std::vector<std::pair<std::string, std::string>> entries;
  {
    auto cur = lmdb::cursor::open(t, s.status);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    auto at = cur->get(k, v, MDB_FIRST);
    for (; at && *at; at = cur->get(k, v, MDB_NEXT)) {
      auto st = codec::decode_status(v);
      if (!st) continue;  // read_txn::status() finds nothing there either
      std::size_t successes = st->status.successes.size();
      auto d = dbs.find(st->collection);
      for (const auto& range : st->added) {
        if (d == dbs.end()) break;
        const unsigned levels = range.level == codec::any_level ? all_levels : 1u << range.level;
        auto walk = level_walk::open(t, d->second, levels, range.first, range.last);
        if (!walk) return std::unexpected(walk.error());
        std::string_view wk;
        std::string_view wv;
        auto found = walk->next(wk, wv);
        for (; found && *found; found = walk->next(wk, wv)) {
          codec::object_fields f;
          if (codec::decode_object(wv, f)) ++successes;
        }
        if (!found) return std::unexpected(found.error());
      }
      entries.emplace_back(codec::status_owner_key(s.owner_hash(st->status.owner),
                                                   st->status.request_timestamp, st->status.id),
                           codec::encode_status_summary(st->status, successes, st->stored_at));
    }
    if (!at) return std::unexpected(at.error());
  }
  for (const auto& [key, value] : entries) {
    if (auto st = s.status_owner.put(t, key, value); !st) return std::unexpected(st.error());
  }
  return entries.size();
}

// Opens the fixed databases and the objects db of every known collection.
// map_full is set when the opening txn (a migration) did not fit the map.
result<void> open_databases(store_core& s, bool& map_full) {
  map_full = false;
  auto open_failed = [&](const lmdb::error& e) -> result<void> {
    map_full = e.map_full();
    return fail("cannot open the store: " + e.message);
  };
  auto t = lmdb::txn::begin(s.db->env());
  if (!t) return open_failed(t.error());
  auto open_db = [&](const char* name, lmdb::dbi& out) -> lmdb::status {
    auto d = lmdb::dbi::open(*t, name, MDB_CREATE);
    if (!d) return std::unexpected(d.error());
    out = *d;
    return {};
  };
  lmdb::status st = open_db("by_id", s.by_id);
  if (st) st = open_db("by_publisher", s.by_publisher);
  if (st) st = open_db("status", s.status);
  if (st) st = open_db("status_time", s.status_time);
  if (st) st = open_db("status_owner", s.status_owner);
  if (st) st = open_db("meta", s.meta);
  if (st) st = open_db("observables", s.observables);
  if (!st) return open_failed(st.error());

  auto schema = s.meta.find(*t, k_meta_schema);
  if (!schema) return open_failed(schema.error());
  std::uint32_t found_schema = k_schema;
  if (!*schema) {
    if (auto put = s.meta.put(*t, k_meta_schema, codec::collection_bytes(k_schema).view()); !put) {
      return open_failed(put.error());
    }
  } else if ((*schema)->size() != 4) {
    return fail("the store in " + s.options.path + " has a damaged schema version");
  } else {
    found_schema = codec::get_u32be((*schema)->data());
    if (found_schema != 1 && found_schema != k_schema) {
      return fail("the store in " + s.options.path + " has schema version " +
                  std::to_string(found_schema) + "; this cairnd reads versions 1 to " +
                  std::to_string(k_schema) + " (a newer release wrote it)");
    }
  }

  auto id_key = s.meta.find(*t, k_meta_id_hash_key);
  if (!id_key) return open_failed(id_key.error());
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
      return open_failed(put.error());
    }
  }
  s.id_key.k0 = codec::get_u64be(key_bytes.data());
  s.id_key.k1 = codec::get_u64be(key_bytes.data() + 8);

  std::vector<std::pair<collection_key, lmdb::dbi>> known;
  {
    auto c = lmdb::cursor::open(*t, s.meta);
    if (!c) return open_failed(c.error());
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
    if (!found) return open_failed(found.error());
  }
  for (auto& [key, d] : known) {
    auto opened = lmdb::dbi::open(*t, objects_db_name(key).c_str(), MDB_CREATE);
    if (!opened) return open_failed(opened.error());
    d = *opened;
  }
  std::uint64_t migrated = 0;
  if (found_schema == 1) {
    auto m = migrate_from_1(s, *t, known);
    if (!m) {
      map_full = m.error().map_full();
      return fail("cannot migrate the store in " + s.options.path + " to schema version " +
                  std::to_string(k_schema) + ": " + m.error().message);
    }
    migrated = *m;
    if (auto put = s.meta.put(*t, k_meta_schema, codec::collection_bytes(k_schema).view()); !put) {
      return open_failed(put.error());
    }
  }
  auto indexed = s.meta.find(*t, k_meta_observables);
  if (!indexed) return open_failed(indexed.error());
  std::optional<std::uint64_t> reindexed;
  if (!*indexed) {
    // A migration from schema 1 says it all in its own line.
    if (s.options.notice && !known.empty() && found_schema != 1) {
      s.options.notice(
          "indexing the observables of the stored versions (once, for lookup and "
          "exports)");
    }
    auto n = index_observables(s, *t, known);
    if (!n) {
      map_full = n.error().map_full();
      return fail("cannot index the observables of the store in " + s.options.path + ": " +
                  n.error().message);
    }
    reindexed = *n;
    if (auto put = s.meta.put(*t, k_meta_observables, "1"); !put) return open_failed(put.error());
  }
  auto owners_indexed = s.meta.find(*t, k_meta_status_owners);
  if (!owners_indexed) return open_failed(owners_indexed.error());
  if (!*owners_indexed) {
    auto n = index_status_owners(s, *t, known);
    if (!n) {
      map_full = n.error().map_full();
      return fail("cannot index the statuses of the store in " + s.options.path +
                  " by owner: " + n.error().message);
    }
    if (auto put = s.meta.put(*t, k_meta_status_owners, "1"); !put) {
      return open_failed(put.error());
    }
  }
  if (auto committed = t->commit(); !committed) {
    return open_failed(committed.error());
  }
  if (reindexed && !known.empty() && found_schema != 1 && s.options.notice) {
    s.options.notice("observable index built: " + std::to_string(*reindexed) +
                     " object versions in " + std::to_string(known.size()) + " collections");
  }
  if (found_schema == 1 && s.options.notice) {
    s.options.notice("store migrated from schema version 1 to " + std::to_string(k_schema) + ": " +
                     std::to_string(migrated) + " object versions in " +
                     std::to_string(known.size()) +
                     " collections rekeyed by TLP level, their observables indexed");
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

result<std::unique_ptr<object_store>> object_store::open(std::shared_ptr<database> db,
                                                         const store_options& options) {
  if (options.max_collections == 0 || options.max_collections > 100'000) {
    return fail("max_collections must be between 1 and 100000");
  }
  if (!db || db->started()) return fail("the object store opens before its writer starts");

  std::unique_ptr<object_store> store(new object_store());
  store->impl_ = std::make_unique<impl>();
  store_core& s = *store->impl_;
  s.db = std::move(db);
  s.options = options;
  s.status_retention = std::max(options.status_retention, k_min_status_retention);
  s.objects = std::make_unique<std::atomic<MDB_dbi>[]>(options.max_collections + 1);
  for (;;) {
    bool map_full = false;
    auto opened = open_databases(s, map_full);
    if (opened) break;
    // A migration copies each collection once more before dropping the old
    // copy: grow the map as the writer would, up to max_map_size.
    if (!map_full) return std::unexpected(opened.error());
    auto grown = s.db->setup_grow();
    if (!grown) return fail("cannot grow the map for the migration: " + grown.error().message);
    if (!*grown) return std::unexpected(opened.error());
  }
  return store;
}

result<database_options> object_store::environment(const store_options& options, unsigned extra) {
  if (options.max_collections == 0 || options.max_collections > 100'000) {
    return fail("max_collections must be between 1 and 100000");
  }
  database_options d;
  d.path = options.path;
  d.map_size = options.map_size;
  d.max_map_size = options.max_map_size;
  d.max_readers = options.max_readers;
  d.max_databases = databases(options.max_collections) + extra;
  d.faults = options.faults;
  return d;
}

result<std::unique_ptr<object_store>> object_store::open(const store_options& options) {
  auto d = environment(options);
  if (!d) return std::unexpected(d.error());
  auto db = database::open(*d);
  if (!db) return std::unexpected(db.error());
  auto store = open(*db, options);
  if (!store) return store;
  (*store)->impl_->own_db = true;
  (*db)->start();
  return store;
}

void object_store::close() {
  if (impl_ && impl_->own_db) impl_->db->close();
}

result<collection_key> object_store::collection(std::string_view collection_id) {
  if (collection_id.empty() || collection_id.size() > codec::max_collection_id_bytes) {
    return fail("a collection id must have 1 to " + std::to_string(codec::max_collection_id_bytes) +
                " bytes");
  }
  auto known = find_collection(*impl_, collection_id);
  if (!known) return std::unexpected(known.error());
  if (*known && **known <= impl_->published.load(std::memory_order_acquire)) return **known;
  storage::writer& w = impl_->db->writer();
  if (w.on_writer_thread()) {
    return fail("object_store::collection() must not be called on the writer thread");
  }
  std::promise<result<collection_key>> promise;
  auto done = promise.get_future();
  w.submit(
      std::make_unique<collection_job>(*impl_, std::string(collection_id), std::move(promise)));
  return done.get();
}

std::unique_ptr<publish_job> object_store::publish_job_of(
    publish_request request, std::function<void(result<publish_outcome>)> done) {
  return std::make_unique<publish_job_impl>(*impl_, std::move(request), std::move(done));
}

std::unique_ptr<remove_job> object_store::remove_job_of(
    delete_request request, std::function<void(result<std::size_t>)> done) {
  return std::make_unique<remove_job_impl>(*impl_, std::move(request), std::move(done));
}

void object_store::publish(publish_request request,
                           std::function<void(result<publish_outcome>)> done) {
  impl_->db->writer().submit(publish_job_of(std::move(request), std::move(done)));
  maybe_purge();
}

void object_store::remove(delete_request request, std::function<void(result<std::size_t>)> done) {
  impl_->db->writer().submit(remove_job_of(std::move(request), std::move(done)));
}

void object_store::maybe_purge() {
  impl_->maybe_purge();
}

lmdb::dbi object_store::objects_database(collection_key c) const {
  return impl_->objects_dbi(c, impl_->published.load());
}

std::size_t object_store::map_size() const {
  return impl_->db->map_size();
}

std::size_t object_store::used_bytes() const {
  return impl_->db->used_bytes();
}

store_stats object_store::stats() const {
  const writer_stats w = impl_->db->writer().stats();
  store_stats s;
  s.commits = w.commits;
  s.failed_commits = w.failed_commits;
  s.jobs = w.jobs;
  s.map_resizes = w.map_resizes;
  s.write_queue_depth = w.queued;
  s.statuses_purged = impl_->purged.load();
  s.capacity_bytes = impl_->db->map_size();
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
    if (store) store->db->guard().leave_shared(owner);
  }

  void note(const lmdb::error& e) {
    if (!last_error) last_error = e.to_error();
  }

  // Fills r from an objects record; false for a deleted or malformed one.
  bool fill(object_record& r, collection_key c, micros at, std::string_view value) {
    ++records_read;
    codec::object_fields f;
    if (!codec::decode_object(value, f) || f.deleted) return false;
    r = record_of(f, c, at);
    r.newest = f.newest && marks_trusted(c);
    return true;
  }

  // Whether c's newest marks hold in this snapshot (see marks_meta_key);
  // asked once per collection and reader.
  bool marks_trusted(collection_key c) {
    if (marks_checked != c) {
      auto hold = marks_hold(txn, store->meta, c);
      if (!hold) note(hold.error());
      marks_checked = c;
      marks_ok = hold && *hold;
    }
    return marks_ok;
  }
  collection_key marks_checked = 0;  // 0: none yet (no collection has key 0)
  bool marks_ok = false;

  // The live version at a position, of the given level when known.
  std::optional<object_record> at(collection_key c, lmdb::dbi objects, micros date_added,
                                  std::optional<formats::tlp_level> level = std::nullopt) {
    std::optional<std::string_view> value;
    if (level) {
      auto found = objects.find(txn, codec::object_key(*level, date_added).view());
      if (!found) {
        note(found.error());
        return std::nullopt;
      }
      value = *found;
    } else {
      auto found = find_version(txn, objects, date_added);
      if (!found) {
        note(found.error());
        return std::nullopt;
      }
      if (*found) value = (*found)->value;
    }
    object_record r;
    if (!value || !fill(r, c, date_added, *value)) return std::nullopt;
    return r;
  }

  std::uint64_t records_read = 0;
};

read_txn::read_txn() = default;
read_txn::read_txn(read_txn&&) noexcept = default;
read_txn& read_txn::operator=(read_txn&&) noexcept = default;
read_txn::~read_txn() = default;

read_txn object_store::begin_read() const {
  read_txn r;
  r.impl_ = std::make_unique<read_txn::impl>();
  r.impl_->owner = impl_->db->guard().enter_shared();
  r.impl_->store = impl_.get();
  // The bound is read before the snapshot is taken: every key up to it was
  // committed before, so the snapshot has its db.
  r.impl_->bound = impl_->published.load(std::memory_order_acquire);
  auto t = lmdb::txn::begin(impl_->db->env(), nullptr, MDB_RDONLY);
  if (t) {
    r.impl_->txn = std::move(*t);
  } else {
    r.impl_->note(t.error());
  }
  return r;
}

void read_txn::scan(collection_key c, micros after,
                    const std::function<bool(const object_record&)>& fn) const {
  scan(c, after, visibility{}, fn);
}

void read_txn::scan(collection_key c, micros after, const visibility& who,
                    const std::function<bool(const object_record&)>& fn) const {
  impl& in = *impl_;
  if (!in.txn.active()) return;
  const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
  if (objects.handle() == 0) return;
  if (after == std::numeric_limits<micros>::max()) return;
  const micros from = std::max<micros>(after + 1, 0);
  constexpr micros to = std::numeric_limits<micros>::max();

  // Two streams merged by date_added: the levels up to who.max_level, and
  // who's own versions above it (found through by_publisher, so that no
  // version of those levels published by others is read).
  auto levels = level_walk::open(in.txn, objects, levels_up_to(who.max_level), from, to);
  if (!levels) return in.note(levels.error());
  std::optional<lmdb::cursor> own;
  std::string own_start;
  if (!who.publisher.empty() && who.max_level < formats::tlp_level::red) {
    auto cur = lmdb::cursor::open(in.txn, in.store->by_publisher);
    if (!cur) return in.note(cur.error());
    own.emplace(std::move(*cur));
    own_start.assign(
        codec::by_publisher_key(c, in.store->publisher_hash(who.publisher), from).view());
  }
  const std::string_view own_prefix =
      std::string_view(own_start).substr(0, std::min(own_start.size(), codec::by_publisher_prefix));

  object_record a;  // the next of the levels, when has_a
  object_record b;  // the next own version above max_level, when has_b
  bool has_a = false;
  bool has_b = false;
  bool own_started = false;
  std::optional<level_walk> own_range;  // the versions of the current entry
  // Both return false on a read error (noted).
  auto next_a = [&]() -> bool {
    for (;;) {
      std::string_view k;
      std::string_view v;
      auto found = levels->next(k, v);
      if (!found) {
        in.note(found.error());
        return false;
      }
      has_a = *found;
      if (!has_a || in.fill(a, c, codec::position_of(k), v)) return true;
    }
  };
  // The next range of own versions above max_level that reaches past
  // `after`, as own_range; false at the end (has_b cleared) or on an error.
  auto next_range = [&]() -> bool {
    for (;;) {
      std::string_view k;
      std::string_view v;
      lmdb::result<bool> found = false;
      if (!own_started) {
        own_started = true;
        // The range before `from` may reach past it.
        found = own->seek(own_start, k, v);
        if (found) {
          found = own->get(k, v, *found ? MDB_PREV : MDB_LAST);
          if (found && (!*found || !k.starts_with(own_prefix))) {
            found = own->seek(own_start, k, v);
          }
        }
      } else {
        found = own->get(k, v, MDB_NEXT);
      }
      if (!found) {
        in.note(found.error());
        return false;
      }
      if (!*found || !k.starts_with(own_prefix) || k.size() != codec::by_publisher_key_bytes) {
        return false;
      }
      formats::tlp_level level{};
      micros last = 0;
      if (!codec::decode_by_publisher(v, level, last) || level <= who.max_level || last < from) {
        continue;  // in the level stream already, or before `after`
      }
      auto walk = level_walk::open(in.txn, objects, 1u << static_cast<unsigned>(level),
                                   std::max(codec::by_publisher_position(k), from), last);
      if (!walk) {
        in.note(walk.error());
        return false;
      }
      own_range.emplace(std::move(*walk));
      return true;
    }
  };
  auto next_b = [&]() -> bool {
    has_b = false;
    if (!own) return true;
    for (;;) {
      if (!own_range && !next_range()) return !in.last_error;
      std::string_view k;
      std::string_view v;
      auto found = own_range->next(k, v);
      if (!found) {
        in.note(found.error());
        return false;
      }
      if (!*found) {
        own_range.reset();
        continue;
      }
      if (in.fill(b, c, codec::position_of(k), v) && b.publisher == who.publisher) {
        has_b = true;
        return true;
      }
    }
  };
  if (!next_a() || !next_b()) return;
  while (has_a || has_b) {
    if (has_a && (!has_b || a.date_added < b.date_added)) {
      if (!fn(a) || !next_a()) return;
    } else {
      if (!fn(b) || !next_b()) return;
    }
  }
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
    auto r = in.at(c, objects, codec::by_id_position(k), codec::level_of_value(v));
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
    ++in.records_read;
    auto rec = read_record(in.txn, objects, at, codec::level_of_value(v), f);
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
  char packed[codec::packed_time_bytes];
  if (!r.id_copy) {
    auto time_key = formats::stix_time_key(r.version);
    if (!time_key || !codec::pack_time_key(*time_key, packed)) return false;
  }
  auto cur = lmdb::cursor::open(in.txn, in.store->by_id);
  if (!cur) {
    in.note(cur.error());
    return false;
  }
  codec::by_id_key key;
  key.set_id(r.collection, in.store->id_hash(r.id));
  if (!r.id_copy) key.set_time(packed);
  const std::string_view prefix = r.id_copy ? key.id_prefix() : key.version_prefix();
  // The other copies of r's version (of r's id, for an id copy). One stored before r is unflagged,
  // or flagged at a lower position: within one commit, positions follow TLP levels, so a copy
  // planned after another may sit before it.
  std::string_view k;
  std::string_view v;
  auto found = cur->seek(prefix, k, v);
  for (; found && *found && k.starts_with(prefix); found = cur->get(k, v, MDB_NEXT)) {
    const micros at = codec::by_id_position(k);
    if (at == r.date_added) continue;
    codec::object_fields f;
    auto rec = read_record(in.txn, objects, at, codec::level_of_value(v), f);
    if (!rec) {
      in.note(rec.error());
      return false;
    }
    if (!*rec || f.deleted || f.id != r.id || (f.later_copy && at > r.date_added)) continue;
    if (!counts || counts(record_of(f, r.collection, at))) return true;
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

  // The added versions, from their records (deleted ones still name them),
  // in date_added order.
  std::vector<std::pair<micros, status_detail>> added;
  const lmdb::dbi objects = in.store->objects_dbi(s->collection, in.bound);
  if (objects.handle() != 0) {
    for (const auto& range : s->added) {
      const unsigned levels = range.level == codec::any_level ? all_levels : 1u << range.level;
      auto walk = level_walk::open(in.txn, objects, levels, range.first, range.last);
      if (!walk) {
        in.note(walk.error());
        return std::nullopt;
      }
      std::string_view k;
      std::string_view v;
      auto found = walk->next(k, v);
      for (; found && *found; found = walk->next(k, v)) {
        codec::object_fields f;
        if (codec::decode_object(v, f)) {
          added.emplace_back(codec::position_of(k),
                             status_detail{std::string(f.id), std::string(f.version), {}});
        }
      }
      if (!found) {
        in.note(found.error());
        return std::nullopt;
      }
    }
  }
  std::stable_sort(added.begin(), added.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<status_detail> successes;
  successes.reserve(added.size() + s->status.successes.size());
  for (auto& [at, d] : added) successes.push_back(std::move(d));
  successes.insert(successes.end(), std::make_move_iterator(s->status.successes.begin()),
                   std::make_move_iterator(s->status.successes.end()));
  s->status.successes = std::move(successes);
  return std::move(s->status);
}

namespace {

struct index_entry {
  micros date_added = 0;
  formats::tlp_level level = formats::tlp_level::red;
  std::uint8_t flags = 0;
  std::string value;  // the whole value
};

// Reads an observables entry; false when malformed.
bool decode_index_entry(std::string_view key, std::string_view v, std::size_t prefix_bytes,
                        index_entry& out) {
  if (v.size() < 2 || key.size() < prefix_bytes + 9) return false;
  out.date_added = static_cast<micros>(codec::get_u64be(key.data() + key.size() - 8));
  out.level = static_cast<formats::tlp_level>(static_cast<std::uint8_t>(v[0]));
  out.flags = static_cast<std::uint8_t>(v[1]);
  if (static_cast<unsigned>(out.level) >= codec::tlp_levels) return false;
  if (out.flags & k_obs_long) {
    out.value.assign(v.substr(2));
  } else {
    out.value.assign(key.substr(prefix_bytes, key.size() - 9 - prefix_bytes));
  }
  return true;
}

}  // namespace

void read_txn::lookup(std::span<const collection_key> cs, formats::observable_kind k,
                      std::string_view value, const visibility& who,
                      const observable_fn& fn) const {
  impl& in = *impl_;
  if (!in.txn.active()) return;
  // The exact value first: of a version that indexed it and a CIDR
  // containing it, the exact hit is the one passed.
  std::vector<std::string> probes{std::string(value)};
  for (auto& n : formats::containing_networks(k, value)) probes.push_back(std::move(n));
  auto cur = lmdb::cursor::open(in.txn, in.store->observables);
  if (!cur) {
    in.note(cur.error());
    return;
  }
  for (const collection_key c : cs) {
    const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
    if (objects.handle() == 0) continue;
    std::vector<index_entry> hits;
    for (const std::string& probe : probes) {
      const std::string prefix = observable_prefix(c, k);
      const std::string key = observable_value_prefix(c, k, probe);
      std::string_view fk;
      std::string_view fv;
      auto found = cur->seek(key, fk, fv);
      for (; found && *found && fk.starts_with(key); found = cur->get(fk, fv, MDB_NEXT)) {
        index_entry e;
        if (!decode_index_entry(fk, fv, prefix.size(), e)) continue;
        if (e.value != probe) continue;  // a long value that shares the keyed bytes
        hits.push_back(std::move(e));
      }
      if (!found) {
        in.note(found.error());
        return;
      }
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.date_added < b.date_added; });
    for (std::size_t i = 0; i < hits.size(); ++i) {
      if (i > 0 && hits[i].date_added == hits[i - 1].date_added) continue;
      const index_entry& e = hits[i];
      if (e.level > who.max_level && who.publisher.empty()) continue;  // not read
      auto r = in.at(c, objects, e.date_added, e.level);
      if (!r) continue;  // deleted
      if (e.level > who.max_level && r->publisher != who.publisher) continue;
      const observable_hit hit{k, e.value, (e.flags & k_obs_cidr) != 0,
                               (e.flags & k_obs_exportable) != 0};
      if (!fn(hit, *r)) return;
    }
  }
}

void read_txn::exportable_values(collection_key c, std::span<const formats::observable_kind> kinds,
                                 const visibility& who, const observable_fn& fn) const {
  impl& in = *impl_;
  if (!in.txn.active()) return;
  const lmdb::dbi objects = in.store->objects_dbi(c, in.bound);
  if (objects.handle() == 0) return;
  std::vector<formats::observable_kind> order(kinds.begin(), kinds.end());
  if (order.empty()) {
    for (unsigned k = 1; k <= 8; ++k) order.push_back(static_cast<formats::observable_kind>(k));
  }
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  auto cur = lmdb::cursor::open(in.txn, in.store->observables);
  if (!cur) {
    in.note(cur.error());
    return;
  }
  // Passes one entry on; false when fn says stop.
  auto pass = [&](formats::observable_kind k, const index_entry& e) {
    if (!(e.flags & k_obs_exportable)) return true;
    if (e.level > who.max_level && who.publisher.empty()) return true;
    auto r = in.at(c, objects, e.date_added, e.level);
    if (!r) return true;  // deleted
    if (e.level > who.max_level && r->publisher != who.publisher) return true;
    return fn({k, e.value, (e.flags & k_obs_cidr) != 0, true}, *r);
  };
  for (const auto k : order) {
    const std::string prefix = observable_prefix(c, k);
    // Entries of long values that share their keyed bytes, sorted by whole
    // value before they are passed on (keys order them by date_added).
    std::vector<index_entry> group;
    std::string group_key;
    auto flush = [&] {
      std::stable_sort(group.begin(), group.end(),
                       [](const auto& a, const auto& b) { return a.value < b.value; });
      for (const auto& e : group) {
        if (!pass(k, e)) return false;
      }
      group.clear();
      return true;
    };
    std::string_view fk;
    std::string_view fv;
    auto found = cur->seek(prefix, fk, fv);
    for (; found && *found && fk.starts_with(prefix); found = cur->get(fk, fv, MDB_NEXT)) {
      index_entry e;
      if (!decode_index_entry(fk, fv, prefix.size(), e)) continue;
      const std::string_view keyed = fk.substr(0, fk.size() - 8);
      if (!group.empty() && keyed != group_key && !flush()) return;
      if (e.flags & k_obs_long) {
        if (group.empty()) group_key.assign(keyed);
        group.push_back(std::move(e));
        continue;
      }
      if (!pass(k, e)) return;
    }
    if (!found) {
      in.note(found.error());
      return;
    }
    if (!flush()) return;
  }
}

std::uint64_t read_txn::collection_generation(collection_key c) const {
  impl& in = *impl_;
  if (!in.txn.active()) return 0;
  std::uint64_t out = 0;
  for (const std::string& key : {last_added_meta_key(c), deleted_meta_key(c)}) {
    auto v = in.store->meta.find(in.txn, key);
    if (!v) {
      in.note(v.error());
      continue;
    }
    if (*v && (*v)->size() == 8) out += codec::get_u64be((*v)->data());
  }
  return out;
}

status_page read_txn::owned_statuses(std::string_view owner,
                                     const std::optional<status_cursor>& after,
                                     std::size_t limit) const {
  impl& in = *impl_;
  status_page page;
  const std::size_t n = std::min(limit, max_status_page);
  if (!in.txn.active() || n == 0) return page;
  if (after && after->id.size() > k_max_status_id_bytes) return page;
  const std::uint64_t hash = in.store->owner_hash(owner);
  const std::string prefix(codec::position_key(static_cast<micros>(hash)).view());
  // The walk starts below this key: the cursor's entry, or past every
  // request_timestamp of the owner.
  const std::string start = after
                                ? codec::status_owner_key(hash, after->request_timestamp, after->id)
                                : codec::status_owner_key(hash, static_cast<micros>(-1), {});
  auto cur = lmdb::cursor::open(in.txn, in.store->status_owner);
  if (!cur) {
    in.note(cur.error());
    return page;
  }
  std::string_view k;
  std::string_view v;
  auto found = cur->seek(start, k, v);
  if (found) found = *found ? cur->get(k, v, MDB_PREV) : cur->get(k, v, MDB_LAST);
  const micros now = in.store->now();
  for (; found && *found && k.starts_with(prefix); found = cur->get(k, v, MDB_PREV)) {
    auto entry = codec::decode_status_summary(k, v);
    if (!entry || entry->owner != owner) continue;
    // The older ones have expired too (request order is the order of
    // storing, give or take a commit), and wait for the purge.
    if (entry->stored_at + in.store->status_retention <= now) break;
    if (page.statuses.size() == n) {
      page.more = true;
      break;
    }
    page.statuses.push_back(std::move(entry->summary));
  }
  if (!found) {
    in.note(found.error());
    page.more = false;
  }
  if (page.more) {
    page.resume = {page.statuses.back().request_timestamp, page.statuses.back().id};
  }
  return page;
}

std::uint64_t read_txn::records_read() const {
  return impl_->records_read;
}

const std::optional<error>& read_txn::last_error() const {
  return impl_->last_error;
}

}  // namespace cairn::storage

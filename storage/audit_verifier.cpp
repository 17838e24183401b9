#include "storage/audit_verifier.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/merkle.hpp"
#include "formats/time.hpp"
#include "storage/audit_codec.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"

namespace cairn::storage {

namespace ac = audit_codec;
namespace merkle = formats::merkle;
using merkle::digest;

namespace {

constexpr unsigned k_max_dbs = 100'100;  // object_store allows up to 100,000 collections

std::string_view bytes_of(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string_view view(const std::array<char, 8>& k) {
  return {k.data(), k.size()};
}

class lock_file {
 public:
  ~lock_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  result<void> acquire(const std::string& dir) {
    const std::string path = dir + "/cairn.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return fail("no store in " + dir + " (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return fail("the store in " + dir +
                  " is in use by a running cairnd: stop it, or verify a copy of the data "
                  "directory");
    }
    return {};
  }

 private:
  int fd_ = -1;
};

// The walk, stopping at the first problem.
class walker {
 public:
  walker(const lmdb::txn& t, std::string_view trusted_pem) : t_(t), trusted_pem_(trusted_pem) {}

  result<audit_verdict> run() {
    if (auto opened = open_all(); !opened) return std::unexpected(opened.error());
    if (!verdict_.problem.empty()) return verdict_;
    trusted_key_ = formats::ed25519_public_bytes(trusted_pem_);
    if (!trusted_key_) return fail("the trusted public key is not an Ed25519 public key (PEM)");
    trusted_canonical_ = formats::ed25519_public_pem_of(*trusted_key_);
    if (!load_checkpoints()) return verdict_;
    if (!walk_records()) return verdict_;
    if (!finish()) return verdict_;
    verdict_.intact = true;
    return verdict_;
  }

 private:
  struct stored_checkpoint {
    std::uint64_t key = 0;
    std::string json;
  };

  bool bad(std::uint64_t seq, std::string problem) {
    verdict_.first_bad = seq;
    verdict_.problem = std::move(problem);
    return false;
  }
  bool bad_record(std::uint64_t seq, const std::string& what) {
    return bad(seq, "record " + std::to_string(seq) + ": " + what);
  }
  bool storage_error(const lmdb::error& e) { return bad(0, "cannot read the store: " + e.message); }

  result<void> open_all() {
    // A store of the previous layout (objects keyed by date_added alone) is
    // migrated when cairnd opens it; read here as it is, every versioned
    // record would look damaged.
    {
      lmdb::txn& t = const_cast<lmdb::txn&>(t_);
      auto meta = lmdb::dbi::open(t, "meta", 0);
      if (meta) {
        auto schema = meta->find(t_, "schema");
        if (schema && *schema && (*schema)->size() == 4 && (**schema)[0] == 0 &&
            (**schema)[1] == 0 && (**schema)[2] == 0 && (**schema)[3] == 1) {
          return fail(
              "the store has the layout of schema version 1: start cairnd on it once (it "
              "migrates the store when it opens it), stop it, then verify");
        }
      }
    }
    const std::pair<const char*, lmdb::dbi*> all[] = {
        {ac::db_records, &records_},
        {ac::db_leaves, &leaves_},
        {ac::db_nodes, &nodes_},
        {ac::db_checkpoints, &checkpoints_},
        {ac::db_by_account, &by_account_},
        {ac::db_by_collection, &by_collection_},
        {ac::db_by_action, &by_action_},
        {ac::db_by_object, &by_object_},
        {ac::db_bins, &bins_},
        {ac::db_meta, &meta_},
    };
    lmdb::txn& t = const_cast<lmdb::txn&>(t_);
    for (auto [name, out] : all) {
      auto d = lmdb::dbi::open(t, name, 0);
      if (!d) {
        if (d.error().code == MDB_NOTFOUND) {
          verdict_.problem =
              std::string("the store has no audit log (database ") + name + " is missing)";
          return {};
        }
        return fail("cannot open " + std::string(name) + ": " + d.error().message);
      }
      *out = *d;
    }
    return {};
  }

  std::optional<lmdb::dbi> objects_db(collection_key c) {
    auto it = objects_.find(c);
    if (it != objects_.end()) return it->second;
    lmdb::txn& t = const_cast<lmdb::txn&>(t_);
    auto d = lmdb::dbi::open(t, ("objects/" + std::to_string(c)).c_str(), 0);
    if (!d) return std::nullopt;
    objects_.emplace(c, *d);
    return *d;
  }

  bool load_checkpoints() {
    auto cur = lmdb::cursor::open(t_, checkpoints_);
    if (!cur) return storage_error(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      if (k.size() != 8) return bad(0, "a checkpoint has a malformed key");
      stored_.push_back({ac::u64_of(k), std::string(v)});
    }
    if (!found) return storage_error(found.error());
    return true;
  }

  bool check_checkpoint(const stored_checkpoint& s, const digest& root, const digest& chain,
                        std::uint64_t good_until) {
    const std::string where = "checkpoint at tree size " + std::to_string(s.key);
    auto c = formats::parse_checkpoint(s.json);
    if (!c) return bad(s.key, where + " is malformed: " + c.error().message);
    if (c->tree_size != s.key)
      return bad(s.key, where + " names tree size " + std::to_string(c->tree_size));
    // Byte for byte as the server writes it: no variant of the text passes.
    if (formats::checkpoint_json(*c) != s.json)
      return bad(s.key, where + " is not in canonical form");
    if (c->public_key != trusted_canonical_) {
      return bad(s.key, where + " carries another public key than the trusted one");
    }
    if (!formats::checkpoint_signature_ok(*c, trusted_pem_)) {
      return bad(s.key, where + " has a signature that does not verify");
    }
    if (c->root_hash != root || c->chain_hash != chain) {
      return bad(good_until + 1, where + " does not match the records: a record in " +
                                     std::to_string(good_until + 1) + ".." + std::to_string(s.key) +
                                     " was changed after it was signed (the log was rewritten)");
    }
    ++verdict_.checkpoints;
    return true;
  }

  bool expect(lmdb::dbi d, std::string_view key, std::string_view value, std::uint64_t seq,
              const char* index) {
    auto v = d.find(t_, key);
    if (!v) return storage_error(v.error());
    if (!*v || **v != value)
      return bad_record(seq, std::string("its ") + index + " entry is missing or wrong");
    return true;
  }

  bool walk_records() {
    auto cur = lmdb::cursor::open(t_, records_);
    if (!cur) return storage_error(cur.error());
    auto leaf_cur = lmdb::cursor::open(t_, leaves_);
    if (!leaf_cur) return storage_error(leaf_cur.error());

    std::size_t next_checkpoint = 0;
    std::uint64_t good_until = 0;  // records covered by the last matching checkpoint
    bool node_ok = true;
    std::uint64_t node_bad_at = 0;
    std::string node_problem;
    merkle::tree_builder tree([&](unsigned height, std::uint64_t index, const digest& h) {
      if (height == 0 || height % ac::node_stride != 0 || !node_ok) return;
      ++expected_nodes_;
      auto v = nodes_.find(t_, ac::node_key(height, index));
      if (!v || !*v || **v != bytes_of(h)) {
        node_ok = false;
        node_bad_at = (index << height) + 1;
        node_problem = "the stored tree node of height " + std::to_string(height) +
                       " over records " + std::to_string(node_bad_at) + ".." +
                       std::to_string((index + 1) << height) + " is missing or wrong";
      }
    });

    digest prev{};
    micros prev_time = 0;
    std::uint64_t seq = 0;
    std::string_view k;
    std::string_view v;
    std::string_view lk;
    std::string_view lv;
    auto found = cur->get(k, v, MDB_FIRST);
    auto leaf_found = leaf_cur->get(lk, lv, MDB_FIRST);
    for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
      ++seq;
      if (k.size() != 8 || ac::u64_of(k) != seq) {
        return bad_record(seq, "is missing (the next record in the log is " +
                                   (k.size() == 8 ? std::to_string(ac::u64_of(k)) : "malformed") +
                                   ")");
      }
      ac::record_fields f;
      if (!ac::decode_record(v, f)) return bad_record(seq, "cannot be decoded");
      lmdb::dbi objects;
      if (!f.runs.empty()) {
        auto d = objects_db(f.key);
        if (!d) return bad_record(seq, "names a collection the store does not have");
        objects = *d;
      }
      std::vector<std::string> ids;
      std::string objects_json;
      auto expanded = ac::expand_objects(t_, objects, f, objects_json,
                                         [&](micros at, std::string_view id, std::string_view) {
                                           if (f.act == ac::action::remove || at == 0) {
                                             ids.emplace_back(id);
                                           }
                                         });
      if (!expanded) return storage_error(expanded.error());
      if (!*expanded) return bad_record(seq, "names object versions the store does not hold");

      formats::audit_record r = ac::record_of(seq, f);
      const std::string body = formats::audit_body(r, objects_json);
      if (formats::audit_chain_hash(prev, body) != f.hash) {
        return bad_record(seq, "its hash does not match its contents and the previous record");
      }
      if (f.time < prev_time) return bad_record(seq, "its time is before the previous record's");
      const digest leaf = merkle::leaf_hash(body);
      if (!leaf_found) return storage_error(leaf_found.error());
      if (!*leaf_found || ac::u64_of(lk) != seq - 1 || lk.size() != 8 || lv != bytes_of(leaf)) {
        return bad_record(seq, "its tree leaf is missing or wrong");
      }
      leaf_found = leaf_cur->get(lk, lv, MDB_NEXT);
      tree.append(leaf);
      if (!node_ok) return bad(node_bad_at, node_problem);

      if (!check_indexes(seq, f, ids)) return false;

      while (next_checkpoint < stored_.size() && stored_[next_checkpoint].key <= seq) {
        const auto& s = stored_[next_checkpoint];
        if (s.key < seq || s.key == 0)
          return bad(s.key,
                     "checkpoint at tree size " + std::to_string(s.key) + " is out of place");
        if (!check_checkpoint(s, tree.root(), f.hash, good_until)) return false;
        good_until = seq;
        ++next_checkpoint;
      }
      prev = f.hash;
      prev_time = f.time;
    }
    if (!found) return storage_error(found.error());
    if (!leaf_found) return storage_error(leaf_found.error());
    if (*leaf_found)
      return bad(0, "the tree has leaves beyond the last record " + std::to_string(seq));
    if (next_checkpoint < stored_.size()) {
      return bad(seq + 1, "checkpoint at tree size " +
                              std::to_string(stored_[next_checkpoint].key) +
                              " is beyond the log's " + std::to_string(seq) +
                              " records: records were removed from the end");
    }
    verdict_.records = seq;
    last_ = prev;
    return true;
  }

  bool check_indexes(std::uint64_t seq, const ac::record_fields& f,
                     const std::vector<std::string>& ids) {
    for (const auto& key : ac::account_keys(f, seq)) {
      if (!expect(by_account_, key, {}, seq, "account index")) return false;
      ++expected_.by_account;
    }
    if (!f.collection.empty()) {
      if (!expect(by_collection_, ac::hashed_key(f.collection, seq), {}, seq, "collection index")) {
        return false;
      }
      ++expected_.by_collection;
    }
    if (!expect(by_action_, ac::action_key(f.act, seq), {}, seq, "action index")) return false;
    ++expected_.by_action;
    if (f.act == ac::action::alert) {
      std::string key = ac::kind_prefix(f.kind).value_or(std::string());  // decoded: a kind
      const auto seq_bytes = ac::u64_key(seq);
      key.append(seq_bytes.begin(), seq_bytes.end());
      if (!expect(by_action_, key, {}, seq, "alert kind index")) return false;
      ++expected_.by_action;
    }
    std::set<std::string> object_keys;
    for (const auto& id : ids) object_keys.insert(ac::hashed_key(id, seq));
    for (const auto& key : object_keys) {
      if (!expect(by_object_, key, {}, seq, "object index")) return false;
    }
    expected_.by_object += object_keys.size();
    if (!f.runs.empty()) {
      const micros first = f.runs.front().start;
      const micros last = f.runs.back().start + static_cast<micros>(f.runs.back().length) - 1;
      for (const auto& key : ac::bin_keys(f.key, first, last, seq)) {
        if (!expect(bins_, key, ac::bin_value(f.runs), seq, "position index")) return false;
        ++expected_.bins;
      }
      std::string ck(ac::meta_collection_prefix);
      ck.append(codec::collection_bytes(f.key).view());
      if (!expect(meta_, ck, {}, seq, "collection list")) return false;
      collections_.insert(f.key);
    }
    return true;
  }

  bool count_is(lmdb::dbi d, std::uint64_t expected, const char* what) {
    auto st = d.stat(t_);
    if (!st) return storage_error(st.error());
    if (st->ms_entries != expected) {
      return bad(0, std::string("the ") + what + " has " + std::to_string(st->ms_entries) +
                        " entries where the records call for " + std::to_string(expected));
    }
    return true;
  }

  bool finish() {
    if (!count_is(nodes_, expected_nodes_, "tree node store")) return false;
    if (!count_is(by_account_, expected_.by_account, "account index")) return false;
    if (!count_is(by_collection_, expected_.by_collection, "collection index")) return false;
    if (!count_is(by_action_, expected_.by_action, "action index")) return false;
    if (!count_is(by_object_, expected_.by_object, "object index")) return false;
    if (!count_is(bins_, expected_.bins, "position index")) return false;
    // meta: the head, plus one entry per collection.
    if (!count_is(meta_, (verdict_.records > 0 ? 1 : 0) + collections_.size(), "audit meta")) {
      return false;
    }
    auto head = meta_.find(t_, ac::meta_head);
    if (!head) return storage_error(head.error());
    if (verdict_.records == 0) {
      if (*head)
        return bad(1, "the log is empty but its head names a record: records were removed");
      return true;
    }
    std::string expected(view(ac::u64_key(verdict_.records)));
    expected.append(bytes_of(last_));
    if (!*head || **head != expected) {
      const std::uint64_t said = *head && (*head)->size() == 40 ? ac::u64_of(**head) : 0;
      if (said > verdict_.records) {
        return bad(verdict_.records + 1, "the log ends at record " +
                                             std::to_string(verdict_.records) +
                                             " but its head names record " + std::to_string(said) +
                                             ": records were removed from the end");
      }
      return bad(verdict_.records, "the log's head does not name its last record " +
                                       std::to_string(verdict_.records));
    }
    return true;
  }

  const lmdb::txn& t_;
  std::string_view trusted_pem_;
  std::optional<std::string> trusted_key_;
  std::string trusted_canonical_;
  audit_verdict verdict_;
  lmdb::dbi records_, leaves_, nodes_, checkpoints_, by_account_, by_collection_, by_action_,
      by_object_, bins_, meta_;
  std::map<collection_key, lmdb::dbi> objects_;
  std::vector<stored_checkpoint> stored_;
  std::set<collection_key> collections_;
  std::uint64_t expected_nodes_ = 0;
  struct {
    std::uint64_t by_account = 0;
    std::uint64_t by_collection = 0;
    std::uint64_t by_action = 0;
    std::uint64_t by_object = 0;
    std::uint64_t bins = 0;
  } expected_;
  digest last_{};
};

}  // namespace

result<audit_verdict> verify_audit_log(const std::string& store_path,
                                       std::string_view public_key_pem) {
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
  walker w(*t, public_key_pem);
  return w.run();
}

}  // namespace cairn::storage

#include "storage/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "formats/base64.hpp"
#include "formats/ed25519.hpp"
#include "formats/secret_file.hpp"
#include "formats/time.hpp"
#include "storage/audit_codec.hpp"
#include "storage/audit_stats.hpp"
#include "storage/codec.hpp"
#include "storage/database.hpp"

namespace cairn::storage {

namespace ac = audit_codec;
namespace merkle = formats::merkle;
using merkle::digest;

namespace {

constexpr std::size_t k_max_key_file = 4096;
constexpr std::size_t k_max_object_candidates = 2'000'000;

// Publish, pull and delete records always name their collection (record()
// refuses them otherwise); records of every other action may name none.
bool names_collection_always(ac::action a) {
  return a == ac::action::publish || a == ac::action::pull || a == ac::action::remove;
}

lmdb::error job_error(std::string message) {
  return lmdb::error{EINVAL, std::move(message)};
}

std::string_view bytes_of(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string_view view(const std::array<char, 8>& k) {
  return {k.data(), k.size()};
}

struct audit_dbs {
  lmdb::dbi records;
  lmdb::dbi leaves;
  lmdb::dbi nodes;
  lmdb::dbi checkpoints;
  lmdb::dbi by_account;
  lmdb::dbi by_collection;
  lmdb::dbi by_action;
  lmdb::dbi by_object;
  lmdb::dbi bins;
  lmdb::dbi meta;
};

// A record on its way to the writer: everything but seq, time, prev and hash.
struct pending_record {
  ac::action act = ac::action::pull;
  formats::audit_record head;  // account, action, remote, api_root, collection, status, ...
  std::string objects_json = "[]";
  collection_key key = 0;
  std::vector<ac::run> runs;
  std::vector<std::pair<std::string, std::string>> explicit_objects;
  std::vector<std::string> object_ids;  // audit_by_object entries
};

struct last_record {
  std::uint64_t seq = 0;
  micros time = 0;
  digest hash{};
};

// Everything the log's jobs and readers share.
struct audit_core {
  std::shared_ptr<database> dbase;
  audit_log::sources from;
  audit_options options;
  std::optional<formats::ed25519_key> key;
  std::string public_pem;
  audit_dbs db;

  mutable std::mutex collections_mutex;
  std::set<collection_key> collections;  // every collection with positioned records

  lmdb::dbi stats_db;  // delivery statistics (storage/audit_stats.hpp)

  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;
  bool closed = false;
  std::thread timer;

  micros now() const { return dbase->now(); }

  // ---- reading (any txn) ----

  lmdb::result<last_record> last_of(const lmdb::txn& t) const {
    last_record out;
    auto cur = lmdb::cursor::open(t, db.records);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_LAST);
    if (!found) return std::unexpected(found.error());
    if (!*found) return out;
    out.seq = ac::u64_of(k);
    if (!ac::record_head(v, out.time, out.hash)) {
      return std::unexpected(job_error("audit record " + std::to_string(out.seq) + " is damaged"));
    }
    return out;
  }

  lmdb::result<std::optional<std::string>> latest_checkpoint_json(const lmdb::txn& t) const {
    auto cur = lmdb::cursor::open(t, db.checkpoints);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_LAST);
    if (!found) return std::unexpected(found.error());
    if (!*found) return std::optional<std::string>();
    return std::optional<std::string>(std::string(v));
  }

  lmdb::result<std::uint64_t> latest_checkpoint_size(const lmdb::txn& t) const {
    auto cur = lmdb::cursor::open(t, db.checkpoints);
    if (!cur) return std::unexpected(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->get(k, v, MDB_LAST);
    if (!found) return std::unexpected(found.error());
    return *found ? ac::u64_of(k) : 0;
  }

  lmdb::result<digest> stored_hash(const lmdb::txn& t, lmdb::dbi d, std::string_view key,
                                   const char* what) const {
    auto v = d.find(t, key);
    if (!v) return std::unexpected(v.error());
    if (!*v || (*v)->size() != 32) {
      return std::unexpected(job_error(std::string("the audit log's ") + what + " is missing"));
    }
    digest out;
    std::memcpy(out.data(), (*v)->data(), 32);
    return out;
  }

  // MTH of the leaves [r.begin, r.end), from the stored leaves and nodes.
  lmdb::result<digest> subtree(const lmdb::txn& t, merkle::range r) const {
    if (r.size() == 0) return merkle::empty_root();
    if (r.size() == 1) return stored_hash(t, db.leaves, view(ac::u64_key(r.begin)), "tree leaf");
    if (std::has_single_bit(r.size()) && r.begin % r.size() == 0) {
      const auto height = static_cast<unsigned>(std::countr_zero(r.size()));
      if (height % ac::node_stride == 0) {
        auto v = db.nodes.find(t, ac::node_key(height, r.begin >> height));
        if (!v) return std::unexpected(v.error());
        if (*v && (*v)->size() == 32) {
          digest out;
          std::memcpy(out.data(), (*v)->data(), 32);
          return out;
        }
        // Not stored (yet): computed from the level below.
      }
    }
    const std::uint64_t k = merkle::split_point(r.size());
    auto left = subtree(t, {r.begin, r.begin + k});
    if (!left) return left;
    auto right = subtree(t, {r.begin + k, r.end});
    if (!right) return right;
    return merkle::node_hash(*left, *right);
  }

  // ---- writing (writer thread, in the job's txn) ----

  lmdb::result<formats::audit_checkpoint> write_checkpoint(lmdb::txn& t, std::uint64_t size,
                                                           const digest& chain) {
    auto root = subtree(t, {0, size});
    if (!root) return std::unexpected(root.error());
    formats::audit_checkpoint c;
    c.tree_size = size;
    c.root_hash = *root;
    c.chain_hash = chain;
    c.time = formats::format_taxii_time(now());
    c.public_key = public_pem;
    const std::string sig = key->sign(formats::checkpoint_signed_text(c));
    if (sig.empty()) return std::unexpected(job_error("cannot sign the audit checkpoint"));
    c.signature = formats::base64_encode(sig);
    if (auto st = db.checkpoints.put(t, view(ac::u64_key(size)), formats::checkpoint_json(c));
        !st) {
      return std::unexpected(st.error());
    }
    return c;
  }

  lmdb::result<std::uint64_t> append(lmdb::txn& t, const pending_record& p) {
    auto last = last_of(t);
    if (!last) return std::unexpected(last.error());
    const std::uint64_t seq = last->seq + 1;
    const micros time = std::max(now(), last->time);  // never backwards along seq

    formats::audit_record h = p.head;
    h.seq = seq;
    h.time = formats::format_taxii_time(time);
    const std::string body = formats::audit_body(h, p.objects_json);
    const digest hash = formats::audit_chain_hash(last->hash, body);
    const digest leaf = merkle::leaf_hash(body);

    ac::record_fields f;
    f.act = p.act;
    f.status = static_cast<std::uint16_t>(std::clamp(h.status, 0, 65535));
    f.time = time;
    f.hash = hash;
    f.account = h.account;
    f.remote = h.remote;
    f.api_root = h.api_root;
    f.collection = h.collection;
    f.sha256 = h.sha256;
    f.suppressed = h.suppressed;
    for (const auto& [name, n] : h.accounts) f.accounts.emplace_back(name, n);
    f.kind = h.kind;
    f.detail = h.detail;
    f.evidence = h.evidence;
    f.key = p.runs.empty() ? 0 : p.key;
    f.runs = p.runs;
    for (const auto& [id, version] : p.explicit_objects)
      f.explicit_objects.emplace_back(id, version);

    const auto seq_key = ac::u64_key(seq);
    if (auto st = db.records.put(t, view(seq_key), ac::encode_record(f), MDB_APPEND); !st) {
      return std::unexpected(st.error());
    }
    if (auto st = db.leaves.put(t, view(ac::u64_key(seq - 1)), bytes_of(leaf), MDB_APPEND); !st) {
      return std::unexpected(st.error());
    }
    // Complete subtrees of stored heights that this leaf closes.
    for (unsigned height = ac::node_stride; height < 64; height += ac::node_stride) {
      const std::uint64_t width = std::uint64_t{1} << height;
      if (seq % width != 0) break;
      const std::uint64_t index = seq / width - 1;
      auto node = subtree(t, {index * width, seq});
      if (!node) return std::unexpected(node.error());
      if (auto st = db.nodes.put(t, ac::node_key(height, index), bytes_of(*node)); !st) {
        return std::unexpected(st.error());
      }
    }

    for (const auto& k : ac::account_keys(f, seq)) {
      if (auto st = db.by_account.put(t, k, {}); !st) return std::unexpected(st.error());
    }
    if (!h.collection.empty()) {
      if (auto st = db.by_collection.put(t, ac::hashed_key(h.collection, seq), {}); !st) {
        return std::unexpected(st.error());
      }
    }
    if (auto st = db.by_action.put(t, ac::action_key(p.act, seq), {}); !st) {
      return std::unexpected(st.error());
    }
    if (p.act == ac::action::alert) {
      // record() has checked the kind.
      std::string k = ac::kind_prefix(h.kind).value_or(std::string());
      k.append(seq_key.begin(), seq_key.end());
      if (auto st = db.by_action.put(t, k, {}); !st) return std::unexpected(st.error());
    }
    if (p.act == ac::action::pull) {
      std::uint64_t objects = p.explicit_objects.size();
      for (const auto& r : p.runs) objects += r.length;
      if (auto st = count_delivery(t, time, h.account, h.api_root, h.collection, 1, objects); !st) {
        return std::unexpected(st.error());
      }
    }
    std::set<std::string> object_keys;
    for (const auto& id : p.object_ids) object_keys.insert(ac::hashed_key(id, seq));
    for (const auto& k : object_keys) {
      if (auto st = db.by_object.put(t, k, {}); !st) return std::unexpected(st.error());
    }
    if (!p.runs.empty()) {
      const micros first = p.runs.front().start;
      const micros end = p.runs.back().start + static_cast<micros>(p.runs.back().length) - 1;
      for (const auto& k : ac::bin_keys(p.key, first, end, seq)) {
        if (auto st = db.bins.put(t, k, ac::bin_value(p.runs)); !st) {
          return std::unexpected(st.error());
        }
      }
      std::string ck(ac::meta_collection_prefix);
      ck.append(codec::collection_bytes(p.key).view());
      auto known = db.meta.find(t, ck);
      if (!known) return std::unexpected(known.error());
      if (!*known) {
        if (auto st = db.meta.put(t, ck, {}); !st) return std::unexpected(st.error());
        std::lock_guard lock(collections_mutex);
        collections.insert(p.key);
      }
    }
    std::string head(view(seq_key));
    head.append(bytes_of(hash));
    if (auto st = db.meta.put(t, ac::meta_head, head); !st) return std::unexpected(st.error());

    auto covered = latest_checkpoint_size(t);
    if (!covered) return std::unexpected(covered.error());
    if (seq - *covered >= options.checkpoint_records) {
      if (auto c = write_checkpoint(t, seq, hash); !c) return std::unexpected(c.error());
    }
    return seq;
  }

  // Adds pull records and their objects to the hour's counter of (account,
  // api root, collection).
  lmdb::status count_delivery(lmdb::txn& t, micros time, std::string_view account,
                              std::string_view api_root, std::string_view collection,
                              std::uint64_t records, std::uint64_t objects) {
    namespace si = audit_stats_index;
    const std::string k = si::lmdb_key(si::floor_to(time, si::hour), account, api_root, collection);
    auto v = stats_db.find(t, k);
    if (!v) return std::unexpected(v.error());
    if (*v && (*v)->size() == 16) {
      records += si::u64_be(**v);
      objects += si::u64_be((*v)->substr(8));
    }
    return stats_db.put(t, k, si::lmdb_value(records, objects));
  }

  // Fills p's runs, explicit entries and objects JSON for versions just
  // written (or tombstoned) in t, reading them back as verification will.
  lmdb::status describe(lmdb::txn& t, pending_record& p, collection_key c,
                        std::vector<micros> positions) {
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    p.key = c;
    p.runs = ac::runs_of(positions);
    ac::record_fields f;
    f.key = p.runs.empty() ? 0 : c;
    f.runs = p.runs;
    for (const auto& [id, version] : p.explicit_objects)
      f.explicit_objects.emplace_back(id, version);
    p.objects_json.clear();
    std::vector<std::string> ids;
    auto ok = ac::expand_objects(t, from.objects(c), f, p.objects_json,
                                 [&](micros, std::string_view id, std::string_view) {
                                   if (ids.empty() || ids.back() != id) ids.emplace_back(id);
                                 });
    if (!ok) return std::unexpected(ok.error());
    if (!*ok) return std::unexpected(job_error("a version to record is not in the store"));
    if (p.act == ac::action::remove) p.object_ids = std::move(ids);
    return {};
  }
};

class record_job final : public write_job {
 public:
  record_job(audit_core& log, pending_record p, std::function<void(result<std::uint64_t>)> done)
      : log_(log), p_(std::move(p)), done_(std::move(done)) {}
  std::size_t weight() const override { return 512 + p_.objects_json.size(); }

  lmdb::status run(lmdb::txn& t) override {
    auto seq = log_.append(t, p_);
    if (!seq) return std::unexpected(seq.error());
    seq_ = *seq;
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (!done_) return;
    if (failure) return done_(std::unexpected(std::move(*failure)));
    done_(seq_);
  }

 private:
  audit_core& log_;
  pending_record p_;
  std::function<void(result<std::uint64_t>)> done_;
  std::uint64_t seq_ = 0;
};

class checkpoint_job final : public write_job {
 public:
  checkpoint_job(audit_core& log, std::function<void(result<formats::audit_checkpoint>)> done)
      : log_(log), done_(std::move(done)) {}
  std::size_t weight() const override { return 4096; }

  lmdb::status run(lmdb::txn& t) override {
    out_.reset();
    auto last = log_.last_of(t);
    if (!last) return std::unexpected(last.error());
    auto latest = log_.latest_checkpoint_json(t);
    if (!latest) return std::unexpected(latest.error());
    if (*latest) {
      auto c = formats::parse_checkpoint(**latest);
      if (c && c->tree_size >= last->seq) {
        out_ = std::move(*c);
        return {};
      }
    }
    if (last->seq == 0) return {};
    auto c = log_.write_checkpoint(t, last->seq, last->hash);
    if (!c) return std::unexpected(c.error());
    out_ = std::move(*c);
    return {};
  }

  void complete(std::optional<error> failure) override {
    if (!done_) return;
    if (failure) return done_(std::unexpected(std::move(*failure)));
    if (!out_) return done_(fail(errc::not_found, "the audit log is empty"));
    done_(std::move(*out_));
  }

 private:
  audit_core& log_;
  std::function<void(result<formats::audit_checkpoint>)> done_;
  std::optional<formats::audit_checkpoint> out_;
};

// Indexes the delivery statistics of a log written before the index
// existed: the pull records after the last one indexed, a chunk per job,
// then marks the index complete.
class stats_build_job final : public write_job {
 public:
  static constexpr std::uint64_t chunk = 20'000;

  stats_build_job(audit_core& log, std::function<void(result<std::uint64_t>)> done)
      : log_(log), done_(std::move(done)) {}
  std::size_t weight() const override { return std::size_t{1} << 20; }

  lmdb::status run(lmdb::txn& t) override {
    namespace si = audit_stats_index;
    indexed_ = 0;
    std::uint64_t after = 0;
    auto upto = log_.db.meta.find(t, si::meta_upto);
    if (!upto) return std::unexpected(upto.error());
    if (*upto) after = ac::u64_of(**upto);
    auto cur = lmdb::cursor::open(t, log_.db.by_action);
    if (!cur) return std::unexpected(cur.error());
    const std::string start = ac::action_key(ac::action::pull, after + 1);
    const std::string_view prefix = std::string_view(start).substr(0, 1);
    std::string_view k;
    std::string_view v;
    std::uint64_t last = after;
    auto found = cur->seek(start, k, v);
    for (; found && *found && k.starts_with(prefix) && indexed_ < chunk;
         found = cur->get(k, v, MDB_NEXT)) {
      const std::uint64_t seq = ac::u64_of(k.substr(1));
      auto value = log_.db.records.find(t, view(ac::u64_key(seq)));
      if (!value) return std::unexpected(value.error());
      ac::record_fields f;
      if (!*value || !ac::decode_record(**value, f)) {
        return std::unexpected(job_error("audit record " + std::to_string(seq) + " is damaged"));
      }
      if (auto st = log_.count_delivery(t, f.time, f.account, f.api_root, f.collection, 1,
                                        f.positioned() + f.explicit_objects.size());
          !st) {
        return st;
      }
      last = seq;
      ++indexed_;
    }
    if (!found) return std::unexpected(found.error());
    if (*found && k.starts_with(prefix)) {
      return log_.db.meta.put(t, si::meta_upto, view(ac::u64_key(last)));
    }
    if (auto gone = log_.db.meta.erase(t, si::meta_upto); !gone) {
      return std::unexpected(gone.error());
    }
    return log_.db.meta.put(t, si::meta_done, {});
  }

  void complete(std::optional<error> failure) override {
    if (failure) return done_(std::unexpected(std::move(*failure)));
    done_(indexed_);
  }

 private:
  audit_core& log_;
  std::function<void(result<std::uint64_t>)> done_;
  std::uint64_t indexed_ = 0;
};

// One read transaction of the log, holding a share of the map guard.
class log_reader {
 public:
  explicit log_reader(const audit_core& log) : log_(log) {
    log_.dbase->guard().enter_shared();
    auto t = lmdb::txn::begin(log_.dbase->env(), nullptr, MDB_RDONLY);
    if (t) {
      txn_ = std::move(*t);
    } else {
      error_ = t.error().message;
    }
  }
  ~log_reader() {
    txn_.abort();
    log_.dbase->guard().leave_shared();
  }
  log_reader(const log_reader&) = delete;
  log_reader& operator=(const log_reader&) = delete;

  bool ok() const { return txn_.active(); }
  const std::string& error() const { return error_; }
  const lmdb::txn& txn() const { return txn_; }

 private:
  const audit_core& log_;
  lmdb::txn txn_;
  std::string error_;
};

std::unexpected<cairn::error> read_failure(const lmdb::error& e) {
  return fail(e.kind(), "the audit log cannot be read: " + e.message);
}

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path);
  std::string text(k_max_key_file + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > k_max_key_file) return fail(path + " is too large for a key file");
  return text;
}

result<void> write_new_file(const std::string& path, std::string_view text, mode_t mode,
                            bool exclusive) {
  using formats::if_file_exists;
  if (exclusive) return formats::write_secret_file(path, text, if_file_exists::fail, mode);
  const std::string tmp = path + ".tmp";
  if (auto w = formats::write_secret_file(tmp, text, if_file_exists::replace, mode); !w) return w;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  return {};
}

result<formats::ed25519_key> load_or_create_key(const audit_options& o) {
  if (o.key_path.empty()) return fail("the audit log needs a signing key path");
  if (::access(o.key_path.c_str(), F_OK) == 0) {
    auto text = read_file(o.key_path);
    if (!text) return std::unexpected(text.error());
    auto key = formats::ed25519_key::from_private_pem(*text);
    if (!key) return fail("the audit signing key " + o.key_path + ": " + key.error().message);
    return key;
  }
  auto key = formats::ed25519_key::generate();
  if (!key) return std::unexpected(key.error());
  if (auto w = write_new_file(o.key_path, key->private_pem(), 0600, true); !w) {
    return std::unexpected(w.error());
  }
  return key;
}

}  // namespace

namespace {

// Opens the delivery statistics index and, for a log written before it
// existed, builds it from the pull records (once: the index is complete from
// then on, kept by append()).
result<void> build_stats(audit_core& a) {
  namespace si = audit_stats_index;
  auto opened = a.dbase->create_databases({si::lmdb_db});
  if (!opened) return fail("cannot open the audit log: " + opened.error().message);
  a.stats_db = opened->front();
  {
    log_reader r(a);
    if (!r.ok()) return fail("cannot open the audit log: " + r.error());
    auto done = a.db.meta.find(r.txn(), si::meta_done);
    if (!done) return read_failure(done.error());
    if (*done) return {};
  }
  std::uint64_t total = 0;
  for (;;) {
    std::promise<result<std::uint64_t>> ran;
    auto indexed = ran.get_future();
    auto job = std::make_unique<stats_build_job>(
        a, [&ran](result<std::uint64_t> n) { ran.set_value(std::move(n)); });
    a.dbase->writer().submit(std::move(job));
    auto n = indexed.get();
    if (!n) return fail("cannot index the audit log's delivery statistics: " + n.error().message);
    total += *n;
    if (*n < stats_build_job::chunk) break;  // it reached the end and marked the index complete
  }
  if (total > 0 && a.options.notice) {
    a.options.notice("audit log: delivery statistics indexed from " + std::to_string(total) +
                     " pull records written before the index existed");
  }
  return {};
}

}  // namespace

// ---- audit_log ------------------------------------------------------------------

struct audit_log::impl : audit_core {};

audit_log::audit_log() = default;

audit_log::~audit_log() {
  close();
}

result<std::unique_ptr<audit_log>> audit_log::open(std::shared_ptr<database> db,
                                                   audit_options options, sources from) {
  std::unique_ptr<audit_log> log(new audit_log());
  log->impl_ = std::make_unique<impl>();
  impl& a = *log->impl_;
  a.dbase = std::move(db);
  a.from = std::move(from);
  a.options = std::move(options);
  if (a.options.checkpoint_records == 0) a.options.checkpoint_records = 1;

  auto key = load_or_create_key(a.options);
  if (!key) return std::unexpected(key.error());
  a.key = std::move(*key);
  a.public_pem = a.key->public_pem();
  if (a.public_pem.empty()) return fail("cannot derive the audit public key");
  if (!a.options.public_key_path.empty()) {
    auto current = read_file(a.options.public_key_path);
    if (!current || *current != a.public_pem) {
      if (auto w = write_new_file(a.options.public_key_path, a.public_pem, 0644, false); !w) {
        return std::unexpected(w.error());
      }
    }
  }

  auto opened = a.dbase->create_databases(
      {ac::db_records, ac::db_leaves, ac::db_nodes, ac::db_checkpoints, ac::db_by_account,
       ac::db_by_collection, ac::db_by_action, ac::db_by_object, ac::db_bins, ac::db_meta});
  if (!opened) return fail("cannot open the audit log: " + opened.error().message);
  const auto& d = *opened;
  a.db = audit_dbs{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9]};

  {
    log_reader r(a);
    if (!r.ok()) return fail("cannot open the audit log: " + r.error());
    auto cur = lmdb::cursor::open(r.txn(), a.db.meta);
    if (!cur) return read_failure(cur.error());
    std::string_view k;
    std::string_view v;
    auto found = cur->seek(ac::meta_collection_prefix, k, v);
    for (; found && *found && k.starts_with(ac::meta_collection_prefix);
         found = cur->get(k, v, MDB_NEXT)) {
      if (k.size() == ac::meta_collection_prefix.size() + 4) {
        a.collections.insert(codec::get_u32be(k.data() + ac::meta_collection_prefix.size()));
      }
    }
    if (!found) return read_failure(found.error());
  }

  if (auto built = build_stats(a); !built) return std::unexpected(built.error());

  // A log that grew after its last checkpoint (a crash) gets one now.
  std::promise<result<formats::audit_checkpoint>> first;
  auto signed_now = first.get_future();
  log->checkpoint_now([&first](result<formats::audit_checkpoint> c) { first.set_value(c); });
  if (auto c = signed_now.get(); !c && c.error().code != errc::not_found) {
    return fail("cannot write an audit checkpoint: " + c.error().message);
  }

  a.timer = std::thread([&a, raw = log.get()] {
    std::unique_lock lock(a.timer_mutex);
    while (!a.stopping) {
      a.timer_wake.wait_for(lock, a.options.checkpoint_interval);
      if (a.stopping) break;
      lock.unlock();
      raw->checkpoint_now({});
      lock.lock();
    }
  });
  return log;
}

void audit_log::close() {
  if (!impl_) return;
  impl& a = *impl_;
  {
    std::lock_guard lock(a.timer_mutex);
    if (a.closed) return;
    a.closed = true;
    a.stopping = true;
  }
  a.timer_wake.notify_all();
  if (a.timer.joinable()) a.timer.join();
  if (a.dbase && !a.dbase->writer().on_writer_thread()) {
    std::promise<void> done;
    auto finished = done.get_future();
    checkpoint_now([&done](result<formats::audit_checkpoint>) { done.set_value(); });
    finished.wait();
  }
}

void audit_log::record(audit_entry entry, std::function<void(result<std::uint64_t>)> done) {
  auto act = ac::action_of(entry.action);
  auto refuse = [&](std::string why) {
    if (done) done(fail(errc::internal, std::move(why)));
  };
  if (!act) return refuse("unknown audit action '" + entry.action + "'");
  if (!entry.delivered.empty() && entry.key == 0) {
    return refuse("delivered versions need their collection key");
  }
  if (names_collection_always(*act) && entry.collection.empty()) {
    // Scoped queries find records without a collection by their action.
    return refuse("a " + entry.action + " record must name its collection");
  }
  pending_record p;
  p.act = *act;
  p.head.account = std::move(entry.account);
  p.head.action = std::move(entry.action);
  p.head.remote = std::move(entry.remote);
  p.head.api_root = std::move(entry.api_root);
  p.head.collection = std::move(entry.collection);
  p.head.status = entry.status;
  p.head.sha256 = std::move(entry.sha256);
  p.head.suppressed = entry.suppressed;
  p.head.accounts = std::move(entry.accounts);
  p.head.kind = std::move(entry.kind);
  p.head.detail = std::move(entry.detail);
  p.head.evidence = std::move(entry.evidence);
  std::sort(p.head.evidence.begin(), p.head.evidence.end());
  p.head.evidence.erase(std::unique(p.head.evidence.begin(), p.head.evidence.end()),
                        p.head.evidence.end());
  if (!entry.delivered.empty() && p.act == ac::action::alert) {
    return refuse("an alert record lists no object versions");
  }
  if (auto checked = formats::check_alert_members(p.head); !checked) {
    return refuse(checked.error().message);
  }

  auto& items = entry.delivered.items;
  if (!items.empty()) {
    // Position order is the record's order; the JSON is built here, off the
    // writer thread.
    if (!std::is_sorted(items.begin(), items.end(),
                        [](const auto& x, const auto& y) { return x.position < y.position; })) {
      std::sort(items.begin(), items.end(),
                [](const auto& x, const auto& y) { return x.position < y.position; });
    }
    std::vector<micros> positions;
    positions.reserve(items.size());
    p.objects_json.clear();
    p.objects_json.reserve(items.size() * 96 + 2);
    p.objects_json += '[';
    for (const auto& it : items) {
      if (!positions.empty() && positions.back() == it.position) continue;
      formats::append_audit_object(p.objects_json, positions.empty(), it.id, it.version);
      positions.push_back(it.position);
    }
    p.objects_json += ']';
    p.key = entry.key;
    p.runs = ac::runs_of(positions);
  }
  impl_->dbase->writer().submit(
      std::make_unique<record_job>(*impl_, std::move(p), std::move(done)));
}

namespace {

// The head of a publish's or a delete's record (its objects come from the
// job's outcome).
pending_record head_of(ac::action act, std::string_view action, const audit_entry& entry) {
  pending_record p;
  p.act = act;
  p.head.account = entry.account;
  p.head.action = std::string(action);
  p.head.remote = entry.remote;
  p.head.api_root = entry.api_root;
  p.head.collection = entry.collection;
  p.head.status = entry.status;
  return p;
}

}  // namespace

lmdb::status audit_log::write_publish_record(lmdb::txn& t, const audit_entry& entry,
                                             collection_key c, const publish_outcome& out) {
  pending_record q = head_of(ac::action::publish, "publish", entry);
  // Exactly the versions this publish added: those of other publishes in
  // the same commit may lie between them.
  std::vector<micros> positions = out.added_positions;
  const auto& successes = out.status.successes;
  for (std::size_t i = std::min(out.added, successes.size()); i < successes.size(); ++i) {
    q.explicit_objects.emplace_back(successes[i].id, successes[i].version);
    q.object_ids.push_back(successes[i].id);
  }
  if (auto st = impl_->describe(t, q, c, std::move(positions)); !st) return st;
  auto seq = impl_->append(t, q);
  if (!seq) return std::unexpected(seq.error());
  return {};
}

lmdb::status audit_log::write_delete_record(lmdb::txn& t, const audit_entry& entry,
                                            collection_key c, const std::vector<micros>& removed) {
  pending_record q = head_of(ac::action::remove, "delete", entry);
  if (auto st = impl_->describe(t, q, c, removed); !st) return st;
  auto seq = impl_->append(t, q);
  if (!seq) return std::unexpected(seq.error());
  return {};
}

void audit_log::checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) {
  impl_->dbase->writer().submit(std::make_unique<checkpoint_job>(*impl_, std::move(done)));
}

result<std::optional<formats::audit_checkpoint>> audit_log::checkpoint() const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto json = impl_->latest_checkpoint_json(r.txn());
  if (!json) return read_failure(json.error());
  if (!*json) return std::optional<formats::audit_checkpoint>();
  auto c = formats::parse_checkpoint(**json);
  if (!c) return fail(errc::io, "the latest audit checkpoint is damaged: " + c.error().message);
  return std::optional<formats::audit_checkpoint>(std::move(*c));
}

result<std::uint64_t> audit_log::size() const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto last = impl_->last_of(r.txn());
  if (!last) return read_failure(last.error());
  return last->seq;
}

const std::string& audit_log::public_key_pem() const {
  return impl_->public_pem;
}

namespace {

// Reads records of one txn and renders them as INTERFACE JSON.
class renderer {
 public:
  renderer(const audit_core& log, const lmdb::txn& t) : log_(log), t_(t) {}

  lmdb::result<bool> fields(std::uint64_t seq, ac::record_fields& f) {
    auto v = log_.db.records.find(t_, view(ac::u64_key(seq)));
    if (!v) return std::unexpected(v.error());
    if (!*v) return false;
    if (!ac::decode_record(**v, f)) {
      return std::unexpected(job_error("audit record " + std::to_string(seq) + " is damaged"));
    }
    return true;
  }

  // The JSON of record seq, whose fields are f; objects counts its objects.
  lmdb::result<std::string> json(std::uint64_t seq, const ac::record_fields& f,
                                 std::size_t* objects = nullptr) {
    formats::audit_record r = ac::record_of(seq, f);
    if (seq > 1) {
      auto prev = log_.db.records.find(t_, view(ac::u64_key(seq - 1)));
      if (!prev) return std::unexpected(prev.error());
      micros unused = 0;
      if (!*prev || !ac::record_head(**prev, unused, r.prev)) {
        return std::unexpected(
            job_error("audit record " + std::to_string(seq - 1) + " is missing"));
      }
    }
    std::string objects_json;
    auto ok = ac::expand_objects(t_, f.runs.empty() ? lmdb::dbi{} : log_.from.objects(f.key), f,
                                 objects_json);
    if (!ok) return std::unexpected(ok.error());
    if (!*ok) {
      return std::unexpected(
          job_error("audit record " + std::to_string(seq) + " names versions the store lacks"));
    }
    if (objects) *objects = f.positioned() + f.explicit_objects.size();
    return formats::audit_record_json(r, objects_json);
  }

  // The first seq in [1, size] whose time is >= t (size + 1 when none).
  lmdb::result<std::uint64_t> first_at_or_after(micros t, std::uint64_t size) {
    std::uint64_t lo = 1;
    std::uint64_t hi = size + 1;
    while (lo < hi) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      auto v = log_.db.records.find(t_, view(ac::u64_key(mid)));
      if (!v) return std::unexpected(v.error());
      micros time = 0;
      digest unused;
      if (!*v || !ac::record_head(**v, time, unused)) {
        return std::unexpected(job_error("audit record " + std::to_string(mid) + " is missing"));
      }
      if (time < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

 private:
  const audit_core& log_;
  const lmdb::txn& t_;
};

bool account_matches(const ac::record_fields& f, std::string_view account) {
  if (account.empty() || f.account == account) return true;
  return std::any_of(f.accounts.begin(), f.accounts.end(),
                     [&](const auto& a) { return a.first == account; });
}

bool in_scope(const ac::record_fields& f, const std::optional<audit_scope>& scope) {
  if (!scope || f.collection.empty()) return true;
  return scope->collections.contains({std::string(f.api_root), std::string(f.collection)});
}

bool matches(const ac::record_fields& f, const audit_query& q) {
  return account_matches(f, q.account) && (q.collection.empty() || f.collection == q.collection) &&
         (q.action.empty() || ac::name_of(f.act) == q.action) &&
         (q.kind.empty() || (f.act == ac::action::alert && f.kind == q.kind)) &&
         (!q.since || f.time >= *q.since) && (!q.until || f.time <= *q.until) &&
         in_scope(f, q.scope);
}

// One index walked from a seq on: entries prefix + seq (8 bytes BE).
struct index_walk {
  lmdb::dbi index;
  std::string prefix;
};

// The walks that find every record a query can match, in seq order once
// merged: one index when a filter names one, else, for a scoped query, the
// scope's collections plus the actions that can name no collection; else
// the log itself.
std::vector<index_walk> walks_for(const audit_dbs& db, const audit_query& q) {
  auto hashed = [](std::string_view text) {
    const auto h = ac::key_hash(text);
    return std::string(h.begin(), h.end());
  };
  auto by_action = [&](ac::action a) {
    return index_walk{db.by_action, std::string(1, static_cast<char>(a))};
  };
  // query() has checked the action's name.
  const ac::action act = q.action.empty() ? ac::action{} : ac::action_of(q.action).value();
  const bool any_action = q.action.empty();
  // Alerts are few: their kind's entries first (query() has checked it).
  if (!q.kind.empty()) return {{db.by_action, ac::kind_prefix(q.kind).value_or(std::string())}};
  if (!q.account.empty()) return {{db.by_account, hashed(q.account)}};
  if (!q.collection.empty()) return {{db.by_collection, hashed(q.collection)}};
  if (q.scope && (any_action || names_collection_always(act))) {
    std::vector<index_walk> out;
    std::set<std::string_view> ids;
    for (const auto& [root, id] : q.scope->collections) ids.insert(id);
    for (const auto id : ids) out.push_back({db.by_collection, hashed(id)});
    if (any_action) {
      for (std::uint8_t code = 1; !ac::name_of(static_cast<ac::action>(code)).empty(); ++code) {
        const auto a = static_cast<ac::action>(code);
        if (!names_collection_always(a)) out.push_back(by_action(a));
      }
    }
    return out;
  }
  if (!any_action) return {by_action(act)};
  return {{db.records, {}}};
}

}  // namespace

result<std::optional<std::string>> audit_log::record_json(std::uint64_t seq) const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  renderer out(*impl_, r.txn());
  ac::record_fields f;
  auto found = out.fields(seq, f);
  if (!found) return read_failure(found.error());
  if (!*found) return std::optional<std::string>();
  auto json = out.json(seq, f);
  if (!json) return read_failure(json.error());
  return std::optional<std::string>(std::move(*json));
}

namespace {

// The seqs a query can match: [lo, hi] (empty when lo > hi), from its
// paging point and its time bounds.
struct seq_range {
  std::uint64_t lo = 1;
  std::uint64_t hi = 0;
  bool holds(std::uint64_t seq) const { return seq >= lo && seq <= hi; }
};

lmdb::result<seq_range> range_of(const audit_query& q, renderer& out, std::uint64_t size) {
  seq_range r{q.after + 1, size};
  if (q.since) {
    auto s = out.first_at_or_after(*q.since, size);
    if (!s) return std::unexpected(s.error());
    r.lo = std::max(r.lo, *s);
  }
  if (q.until && *q.until < std::numeric_limits<micros>::max()) {
    auto u = out.first_at_or_after(*q.until + 1, size);
    if (!u) return std::unexpected(u.error());
    r.hi = std::min(r.hi, *u - 1);
  }
  return r;
}

// A page filled from candidates offered in increasing seq order.
class page_builder {
 public:
  page_builder(const audit_query& q, renderer& out)
      : q_(q), out_(out), limit_(std::clamp<std::size_t>(q.limit, 1, max_audit_limit)) {}

  // Adds the record if it matches the query; false once the page is full
  // (then page.more is set).
  lmdb::result<bool> offer(std::uint64_t seq, const ac::record_fields& f) {
    if (!matches(f, q_)) return true;
    if (page.records.size() == limit_ || (objects_ >= max_audit_page_objects && objects_ > 0)) {
      page.more = true;
      return false;
    }
    std::size_t n = 0;
    auto json = out_.json(seq, f, &n);
    if (!json) return std::unexpected(json.error());
    page.records.push_back(std::move(*json));
    page.resume = seq;
    objects_ += n;
    return true;
  }

  audit_page page;

 private:
  const audit_query& q_;
  renderer& out_;
  const std::size_t limit_;
  std::size_t objects_ = 0;
};

using position_list = std::vector<std::pair<collection_key, micros>>;

// The collections whose versions of the object a query looks up: every
// collection with records, within the scope (out of scope, the object's
// versions are not even looked up).
std::vector<collection_key> object_collections(const audit_core& a, const audit_query& q) {
  std::vector<collection_key> keys;
  std::lock_guard lock(a.collections_mutex);
  for (const collection_key c : a.collections) {
    if (!q.scope ||
        std::find(q.scope->keys.begin(), q.scope->keys.end(), c) != q.scope->keys.end()) {
      keys.push_back(c);
    }
  }
  return keys;
}

// The records that name q.object by id (deletes and explicit entries) go to
// seqs; a delete also gives the positions of versions no longer live, which
// go to positions.
lmdb::status records_naming(const audit_core& a, const lmdb::txn& t, renderer& out,
                            const audit_query& q, std::vector<std::uint64_t>& seqs,
                            position_list& positions) {
  const auto id_hash = ac::key_hash(q.object);
  const std::string_view id_prefix = view(id_hash);
  auto cur = lmdb::cursor::open(t, a.db.by_object);
  if (!cur) return std::unexpected(cur.error());
  std::string_view k;
  std::string_view v;
  auto found = cur->seek(id_prefix, k, v);
  for (; found && *found && k.starts_with(id_prefix); found = cur->get(k, v, MDB_NEXT)) {
    const std::uint64_t seq = ac::u64_of(k.substr(8));
    ac::record_fields f;
    auto got = out.fields(seq, f);
    if (!got) return std::unexpected(got.error());
    if (!*got || !in_scope(f, q.scope)) continue;
    bool named = false;
    std::string unused;
    auto ok = ac::expand_objects(t, f.runs.empty() ? lmdb::dbi{} : a.from.objects(f.key), f, unused,
                                 [&](micros at, std::string_view id, std::string_view) {
                                   if (id != q.object) return;
                                   named = true;
                                   if (at != 0) positions.emplace_back(f.key, at);
                                 });
    if (!ok) return std::unexpected(ok.error());
    if (named) seqs.push_back(seq);
  }
  if (!found) return std::unexpected(found.error());
  return {};
}

// The records in range whose runs cover one of the positions, found bin by
// bin, go to seqs. Fails when there are too many to examine.
result<void> records_covering(const audit_core& a, const lmdb::txn& t, const audit_query& q,
                              const position_list& positions, seq_range range,
                              std::vector<std::uint64_t>& seqs) {
  auto cur = lmdb::cursor::open(t, a.db.bins);
  if (!cur) return read_failure(cur.error());
  std::size_t examined = 0;
  for (const auto& [c, p] : positions) {
    for (unsigned h = 0; h < ac::bin_heights; ++h) {
      const ac::bin_probe b = ac::probe(c, h, p);
      std::string_view k;
      std::string_view v;
      std::uint64_t seq = 0;
      auto found = cur->seek(b.prefix, k, v);
      for (; found && *found && k.starts_with(b.prefix) && ac::probe_hit(b, k, p, seq);
           found = cur->get(k, v, MDB_NEXT)) {
        if (!range.holds(seq)) continue;
        if (++examined > k_max_object_candidates) {
          return fail(errc::too_many,
                      "object " + q.object +
                          " is in too many records for one query: narrow it with since and until");
        }
        // The range covers p; the runs say whether p itself went out.
        if (ac::bin_covers(v, p)) seqs.push_back(seq);
      }
      if (!found) return read_failure(found.error());
    }
  }
  return {};
}

// An object query: the records that name the object, or whose runs cover
// one of its versions' positions (live ones, read from the store first, and
// deleted ones, found through the deletes).
result<audit_page> query_object(const audit_core& a, const lmdb::txn& t, renderer& out,
                                const audit_query& q, seq_range range, position_list positions) {
  page_builder page(q, out);
  std::vector<std::uint64_t> seqs;
  if (auto st = records_naming(a, t, out, q, seqs, positions); !st) {
    return read_failure(st.error());
  }
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  if (auto covered = records_covering(a, t, q, positions, range, seqs); !covered) {
    return std::unexpected(covered.error());
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  for (const std::uint64_t seq : seqs) {
    if (!range.holds(seq)) continue;
    ac::record_fields f;
    auto got = out.fields(seq, f);
    if (!got) return read_failure(got.error());
    if (!*got) continue;
    auto go_on = page.offer(seq, f);
    if (!go_on) return read_failure(go_on.error());
    if (!*go_on) break;
  }
  return std::move(page.page);
}

// One index walked from a seq on, merged with the others in seq order.
class merged_walk {
 public:
  // Opens a cursor per walk, each at its first entry from seq lo.
  static lmdb::result<merged_walk> open(const lmdb::txn& t, const std::vector<index_walk>& plan,
                                        std::uint64_t lo) {
    merged_walk m;
    m.walks_.reserve(plan.size());
    const auto lo_key = ac::u64_key(lo);
    for (const auto& p : plan) {
      auto cur = lmdb::cursor::open(t, p.index);
      if (!cur) return std::unexpected(cur.error());
      m.walks_.push_back({std::move(*cur), p.prefix, 0, {}});
      std::string start = p.prefix;
      start.append(lo_key.begin(), lo_key.end());
      std::string_view k;
      std::string_view v;
      auto found = m.walks_.back().cur.seek(start, k, v);
      if (auto st = settle(m.walks_.back(), found, k, v); !st) return std::unexpected(st.error());
    }
    return m;
  }

  // The walk at the lowest seq, or nullptr when all are done.
  struct walk_state {
    lmdb::cursor cur;
    std::string_view prefix;
    std::uint64_t seq = 0;  // the current entry's; 0 once done
    std::string_view value;
  };
  walk_state* lowest() {
    walk_state* next = nullptr;
    for (auto& w : walks_) {
      if (w.seq != 0 && (!next || w.seq < next->seq)) next = &w;
    }
    return next;
  }

  // Moves w to its next entry.
  static lmdb::status advance(walk_state& w) {
    std::string_view k;
    std::string_view v;
    auto found = w.cur.get(k, v, MDB_NEXT);
    return settle(w, found, k, v);
  }

 private:
  // Moves w to the first entry under its prefix from where found left it.
  static lmdb::status settle(walk_state& w, lmdb::result<bool> found, std::string_view k,
                             std::string_view v) {
    for (; found && *found && k.starts_with(w.prefix); found = w.cur.get(k, v, MDB_NEXT)) {
      if (k.size() != w.prefix.size() + 8) continue;
      w.seq = ac::u64_of(k.substr(w.prefix.size()));
      w.value = v;
      return {};
    }
    if (!found) return std::unexpected(found.error());
    w.seq = 0;
    return {};
  }

  std::vector<walk_state> walks_;
};

// Any other query: walks one index (or the log itself), or merges a few,
// in seq order, examining at most max_audit_examined records.
result<audit_page> query_walk(const audit_core& a, const lmdb::txn& t, renderer& out,
                              const audit_query& q, seq_range range) {
  page_builder page(q, out);
  if (range.lo > range.hi) return std::move(page.page);
  const auto plan = walks_for(a.db, q);
  const bool whole_log = plan.size() == 1 && plan[0].index.handle() == a.db.records.handle();
  auto walks = merged_walk::open(t, plan, range.lo);
  if (!walks) return read_failure(walks.error());
  std::size_t examined = 0;
  std::uint64_t previous = 0;
  while (auto* next = walks->lowest()) {
    const std::uint64_t seq = next->seq;
    if (seq > range.hi) break;
    if (seq != previous) {  // a record two walks hold is offered once
      previous = seq;
      if (++examined > max_audit_examined) {
        page.page.more = true;
        page.page.resume = seq - 1;
        break;
      }
      ac::record_fields f;
      bool found_record = true;
      if (whole_log) {
        if (!ac::decode_record(next->value, f))
          return fail(errc::io, "audit record " + std::to_string(seq) + " is damaged");
      } else {
        auto got = out.fields(seq, f);
        if (!got) return read_failure(got.error());
        found_record = *got;
      }
      if (found_record) {
        auto go_on = page.offer(seq, f);
        if (!go_on) return read_failure(go_on.error());
        if (!*go_on) break;
      }
    }
    if (auto st = merged_walk::advance(*next); !st) return read_failure(st.error());
  }
  return std::move(page.page);
}

}  // namespace

result<audit_page> audit_log::query(const audit_query& q) const {
  const impl& a = *impl_;
  if (!q.action.empty() && !ac::action_of(q.action)) {
    return fail("unknown action '" + q.action + "'");
  }
  if (!q.kind.empty() && !formats::is_alert_kind(q.kind)) {
    return fail("unknown alert kind '" + q.kind + "'");
  }
  // Object queries start from the object's live versions, read from the
  // store before the log's own txn (one map-guard share at a time).
  position_list positions;
  if (!q.object.empty()) {
    auto live = a.from.live_versions(q.object, object_collections(a, q));
    if (!live) return std::unexpected(live.error());
    positions = std::move(*live);
  }

  log_reader r(a);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  renderer out(a, r.txn());
  auto last = a.last_of(r.txn());
  if (!last) return read_failure(last.error());
  auto range = range_of(q, out, last->seq);
  if (!range) return read_failure(range.error());
  if (!q.object.empty()) return query_object(a, r.txn(), out, q, *range, std::move(positions));
  return query_walk(a, r.txn(), out, q, *range);
}

result<std::vector<audit_stats_point>> audit_log::stats(const audit_stats_query& q) const {
  namespace si = audit_stats_index;
  const impl& a = *impl_;
  const auto window = si::window_of(q);
  si::accumulator sum(q);
  if (window.first > window.last) return sum.points();
  log_reader r(a);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto cur = lmdb::cursor::open(r.txn(), a.stats_db);
  if (!cur) return read_failure(cur.error());
  std::string_view k;
  std::string_view v;
  std::size_t examined = 0;
  auto found = cur->seek(si::lmdb_hour_key(window.first), k, v);
  for (; found && *found; found = cur->get(k, v, MDB_NEXT)) {
    si::lmdb_entry e;
    if (!si::parse_lmdb(k, v, e)) return fail(errc::io, "the audit statistics index is damaged");
    if (e.hour > window.last) break;
    if (++examined > max_audit_examined) {
      return fail(errc::too_many,
                  "the statistics would read more than " + std::to_string(max_audit_examined) +
                      " hourly counters: narrow since and until, or name a collection");
    }
    if (!si::wanted(q, e.api_root, e.collection)) continue;
    if (!sum.add(e.account, e.hour, e.records, e.objects)) return si::too_many_points();
  }
  if (!found) return read_failure(found.error());
  return sum.points();
}

result<digest> audit_log::root(std::uint64_t tree_size) const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto last = impl_->last_of(r.txn());
  if (!last) return read_failure(last.error());
  if (tree_size > last->seq)
    return fail("the log has only " + std::to_string(last->seq) + " records");
  auto h = impl_->subtree(r.txn(), {0, tree_size});
  if (!h) return read_failure(h.error());
  return *h;
}

result<std::vector<digest>> audit_log::inclusion_proof(std::uint64_t seq,
                                                       std::uint64_t tree_size) const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto last = impl_->last_of(r.txn());
  if (!last) return read_failure(last.error());
  if (seq == 0 || seq > tree_size || tree_size > last->seq) {
    return fail("an inclusion proof needs 1 <= seq <= tree_size <= " + std::to_string(last->seq));
  }
  std::vector<digest> out;
  for (const merkle::range& n : merkle::inclusion_nodes(seq - 1, tree_size)) {
    auto h = impl_->subtree(r.txn(), n);
    if (!h) return read_failure(h.error());
    out.push_back(*h);
  }
  return out;
}

result<std::vector<digest>> audit_log::consistency_proof(std::uint64_t from,
                                                         std::uint64_t to) const {
  log_reader r(*impl_);
  if (!r.ok()) return fail(errc::io, "the audit log cannot be read: " + r.error());
  auto last = impl_->last_of(r.txn());
  if (!last) return read_failure(last.error());
  if (from == 0 || from > to || to > last->seq) {
    return fail("a consistency proof needs 1 <= from <= to <= " + std::to_string(last->seq));
  }
  std::vector<digest> out;
  for (const merkle::range& n : merkle::consistency_nodes(from, to)) {
    auto h = impl_->subtree(r.txn(), n);
    if (!h) return read_failure(h.error());
    out.push_back(*h);
  }
  return out;
}

}  // namespace cairn::storage

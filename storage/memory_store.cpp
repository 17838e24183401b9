#include "storage/memory_store.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>

#include "formats/base64.hpp"
#include "formats/ed25519.hpp"
#include "storage/audit_stats.hpp"
#include "storage/publish_plan.hpp"

namespace cairn::storage {

namespace merkle = formats::merkle;

namespace {

// The LMDB store's limits (storage/codec.hpp), so that both refuse the same.
constexpr micros k_min_status_retention = micros{24} * 3600 * 1'000'000;
constexpr std::size_t k_max_collection_id_bytes = 256;

struct stored_version {
  collection_key collection = 0;
  micros date_added = 0;
  std::string id, version, spec_version, publisher, json;
  formats::tlp_level tlp = formats::tlp_level::amber;
  bool later_copy = false;
  bool id_copy = false;
  std::string time_key;  // stix_time_key(version): the order of versions()
  std::vector<formats::observable> observables;

  object_record view() const {
    return {collection, date_added, id,   version,    spec_version,
            publisher,  tlp,        json, later_copy, id_copy};
  }
};

struct stored_status {
  status_record status;
  micros stored_at = 0;
};

struct audit_item {
  formats::audit_record record;  // complete: seq, time, objects, prev, hash
  micros time = 0;
  std::string json;
};

struct collection_state {
  std::map<micros, std::shared_ptr<const stored_version>> live;  // by date_added
  micros last = 0;               // the last position given out (deleted or not)
  std::uint64_t generation = 0;  // counts the writes to the collection
};

// Everything the store holds. Never changed once published: a write changes
// a copy (sharing the versions and records, which are immutable).
struct state {
  std::map<std::string, collection_key, std::less<>> keys;
  std::map<collection_key, collection_state> collections;
  std::map<std::string, stored_status, std::less<>> statuses;
  std::vector<std::shared_ptr<const audit_item>> audit;
  std::vector<merkle::digest> leaves;
  std::optional<formats::audit_checkpoint> checkpoint;
  // Delivery statistics (store::audit_stats): pull records and their objects
  // per (hour, account, api root, collection id), kept as records are appended.
  std::map<std::tuple<micros, std::string, std::string, std::string>,
           std::pair<std::uint64_t, std::uint64_t>>
      stats;
};

// The live versions of one object in versions() order: STIX timestamp, then
// date_added.
std::vector<const stored_version*> versions_of(const collection_state& c, std::string_view id) {
  std::vector<const stored_version*> out;
  for (const auto& [at, v] : c.live) {
    if (v->id == id) out.push_back(v.get());
  }
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return a->time_key < b->time_key;  // ties stay in date_added order
  });
  return out;
}

bool names_collection_always(std::string_view action) {
  return action == "publish" || action == "pull" || action == "delete";
}

formats::audit_record head_of(const audit_entry& e, std::string action) {
  formats::audit_record r;
  r.account = e.account;
  r.action = std::move(action);
  r.remote = e.remote;
  r.api_root = e.api_root;
  r.collection = e.collection;
  r.status = std::clamp(e.status, 0, 65535);
  return r;
}

}  // namespace

struct memory_store::impl {
  impl(memory_store_options o, formats::ed25519_key k)
      : options(std::move(o)), key(std::move(k)), public_pem(key.public_pem()) {
    retention = std::max(options.status_retention, k_min_status_retention);
    writer = std::thread([this] { run_writer(); });
  }

  memory_store_options options;
  micros retention = 0;
  formats::ed25519_key key;
  std::string public_pem;

  mutable std::mutex state_mutex;
  std::shared_ptr<const state> current = std::make_shared<state>();

  std::mutex queue_mutex;
  std::condition_variable wake;
  std::deque<std::move_only_function<void()>> queue;
  bool closed = false;
  std::thread writer;
  std::mutex close_mutex;  // one close() joins the writer

  std::atomic<unsigned> fail_next{0};
  std::atomic<bool> unavailable{false};
  std::atomic<std::uint64_t> commits{0}, failed_commits{0}, jobs{0}, purged{0};
  std::mutex observer_mutex;
  std::shared_ptr<const commit_observer> observer;

  micros now() const { return options.clock ? options.clock() : formats::now_micros(); }

  std::shared_ptr<const state> snapshot() const {
    std::lock_guard lock(state_mutex);
    return current;
  }

  void run_writer() {
    for (;;) {
      std::move_only_function<void()> job;
      {
        std::unique_lock lock(queue_mutex);
        wake.wait(lock, [&] { return closed || !queue.empty(); });
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      job();
    }
  }

  // Queues a job for the writer; false once closed.
  bool submit(std::move_only_function<void()> job) {
    {
      std::lock_guard lock(queue_mutex);
      if (closed) return false;
      queue.push_back(std::move(job));
    }
    wake.notify_one();
    return true;
  }

  // Writer thread: one write transaction. change edits a copy of the state,
  // which replaces the current one unless change or the commit fails.
  // Writer thread: tells the observer of one commit (one job each here).
  void report_commit(std::chrono::steady_clock::time_point started, bool ok) {
    std::shared_ptr<const commit_observer> o;
    {
      std::lock_guard lock(observer_mutex);
      o = observer;
    }
    if (!o) return;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    (*o)(commit_sample{took.count(), 1, ok});
  }

  template <class T, class F>
  result<T> commit(F&& change) {
    const auto started = std::chrono::steady_clock::now();
    if (unavailable) {
      ++jobs;
      ++failed_commits;
      report_commit(started, false);
      return fail(errc::unavailable, "the database cannot be reached");
    }
    auto next = std::make_shared<state>(*snapshot());
    result<T> out = change(*next);
    ++jobs;
    if (!out) return out;
    int rc = 0;
    if (unsigned n = fail_next.load(); n > 0 && fail_next.compare_exchange_strong(n, n - 1)) {
      rc = EIO;
    }
    if (rc == 0 && options.before_commit) rc = options.before_commit();
    if (rc != 0) {
      ++failed_commits;
      report_commit(started, false);
      // As the LMDB store's writer: a full disk or quota is storage_full, any
      // other failed commit may succeed later.
      const errc kind = rc == ENOSPC || rc == EDQUOT ? errc::storage_full : errc::unavailable;
      return fail(kind, "commit failed: " + std::string(std::strerror(rc)));
    }
    {
      std::lock_guard lock(state_mutex);
      current = std::move(next);
    }
    ++commits;
    report_commit(started, true);
    return out;
  }

  // Appends a record (seq, time, prev, hash filled in here) to s.
  void append(state& s, formats::audit_record r) const {
    const audit_item* last = s.audit.empty() ? nullptr : s.audit.back().get();
    r.seq = s.audit.size() + 1;
    const micros time = std::max(now(), last ? last->time : micros{0});
    r.time = formats::format_taxii_time(time);
    r.prev = last ? last->record.hash : merkle::digest{};
    const std::string body = formats::audit_body(r);
    r.hash = formats::audit_chain_hash(r.prev, body);
    s.leaves.push_back(merkle::leaf_hash(body));
    auto item = std::make_shared<audit_item>();
    item->json = formats::audit_record_json(r, formats::audit_objects_json(r.objects));
    item->record = std::move(r);
    item->time = time;
    if (item->record.action == "pull") {
      const formats::audit_record& p = item->record;
      auto& n = s.stats[{audit_stats_index::floor_to(time, audit_stats_index::hour), p.account,
                         p.api_root, p.collection}];
      ++n.first;
      n.second += p.objects.size();
    }
    s.audit.push_back(std::move(item));
  }

  result<formats::audit_checkpoint> sign(state& s) const {
    formats::audit_checkpoint c;
    c.tree_size = s.audit.size();
    c.root_hash = merkle::root_of(s.leaves);
    c.chain_hash = s.audit.back()->record.hash;
    c.time = formats::format_taxii_time(now());
    c.public_key = public_pem;
    const std::string sig = key.sign(formats::checkpoint_signed_text(c));
    if (sig.empty()) return fail("cannot sign the audit checkpoint");
    c.signature = formats::base64_encode(sig);
    s.checkpoint = c;
    return c;
  }

  result<formats::audit_checkpoint> checkpoint_change(state& s) const {
    if (s.checkpoint && s.checkpoint->tree_size >= s.audit.size()) return *s.checkpoint;
    if (s.audit.empty()) return fail(errc::not_found, "the audit log is empty");
    return sign(s);
  }

  result<publish_outcome> apply_publish(state& s, const publish_request& req,
                                        const audit_entry& entry);
  result<std::size_t> apply_remove(state& s, const delete_request& req,
                                   const audit_entry& entry) const;
};

result<publish_outcome> memory_store::impl::apply_publish(state& s, const publish_request& req,
                                                          const audit_entry& entry) {
  auto found = s.collections.find(req.collection);
  if (found == s.collections.end()) {
    return fail("unknown collection key " + std::to_string(req.collection));
  }
  collection_state& col = found->second;
  const micros time = now();
  auto stored = [&](std::string_view id,
                    const std::function<bool(const stored_version_view&)>& fn) {
    for (const stored_version* v : versions_of(col, id)) {
      if (!fn({v->view(), v->time_key})) return;
    }
  };
  auto plan = plan_publish(req, time, col.last, stored);
  if (!plan) return std::unexpected(plan.error());

  for (auto& added : plan->added) {
    const new_object& obj = req.objects[added.index];
    auto v = std::make_shared<stored_version>();
    *v = {req.collection,
          added.date_added,
          obj.id,
          std::move(added.version),
          obj.spec_version,
          req.publisher,
          obj.json,
          obj.tlp,
          added.later_copy,
          added.id_copy,
          std::move(added.time_key),
          obj.observables};
    col.live.emplace(added.date_added, std::move(v));
  }
  col.last = plan->last_added;
  ++col.generation;
  publish_outcome& out = plan->outcome;

  if (!out.status.id.empty()) {
    std::erase_if(s.statuses, [&](const auto& st) {
      const bool expired = st.second.stored_at + retention <= time;
      if (expired) ++purged;
      return expired;
    });
    s.statuses[out.status.id] = {out.status, time};
  }
  formats::audit_record r = head_of(entry, "publish");
  r.objects = std::move(plan->recorded);
  append(s, std::move(r));
  return std::move(out);
}

result<std::size_t> memory_store::impl::apply_remove(state& s, const delete_request& req,
                                                     const audit_entry& entry) const {
  auto found = s.collections.find(req.collection);
  if (found == s.collections.end()) {
    return fail("unknown collection key " + std::to_string(req.collection));
  }
  std::vector<micros> positions = req.positions;
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  formats::audit_record r = head_of(entry, "delete");
  auto& live = found->second.live;
  ++found->second.generation;
  for (const micros at : positions) {
    auto v = live.find(at);
    if (v == live.end()) continue;
    r.objects.push_back({v->second->id, v->second->version});
    live.erase(v);
  }
  const std::size_t removed = r.objects.size();
  append(s, std::move(r));
  return removed;
}

// ---------------------------------------------------------------- reader

namespace {

class memory_reader final : public reader {
 public:
  memory_reader(std::shared_ptr<const state> s, std::function<micros()> now, micros retention)
      : state_(std::move(s)), now_(std::move(now)), retention_(retention) {}

  void scan(collection_key c, micros after, const visibility& who,
            const record_fn& fn) const override {
    const collection_state* col = find(c);
    if (!col) return;
    for (auto it = col->live.upper_bound(after); it != col->live.end(); ++it) {
      const stored_version& v = *it->second;
      if (v.tlp > who.max_level && (who.publisher.empty() || v.publisher != who.publisher)) {
        continue;  // withheld: not read, not counted
      }
      ++read_;
      if (!fn(v.view())) return;
    }
  }

  void versions(collection_key c, std::string_view object_id, const record_fn& fn) const override {
    const collection_state* col = find(c);
    if (!col) return;
    for (const stored_version* v : versions_of(*col, object_id)) {
      ++read_;
      if (!fn(v->view())) return;
    }
  }

  std::optional<object_record> at(collection_key c, micros date_added) const override {
    const collection_state* col = find(c);
    if (!col) return std::nullopt;
    auto v = col->live.find(date_added);
    if (v == col->live.end()) return std::nullopt;
    ++read_;
    return v->second->view();
  }

  rank version_rank(const object_record& r, const record_fn& counts) const override {
    const collection_state* col = find(r.collection);
    if (!col) return {};
    auto all = versions_of(*col, r.id);
    auto self = std::find_if(all.begin(), all.end(),
                             [&](const auto* v) { return v->date_added == r.date_added; });
    if (self == all.end()) return {};  // not a live version of this store
    const std::string& key = (*self)->time_key;
    rank out{true, true};
    // Other copies of r's own version are neither before nor after it.
    for (const stored_version* v : all) {
      if (v->time_key == key) continue;
      ++read_;
      if (counts && !counts(v->view())) continue;
      if (v->time_key < key) out.first = false;
      if (v->time_key > key) out.last = false;
    }
    return out;
  }

  bool earlier_copy(const object_record& r, const record_fn& counts) const override {
    if (!r.later_copy) return false;
    const collection_state* col = find(r.collection);
    if (!col) return false;
    auto key = formats::stix_time_key(r.version);
    if (!r.id_copy && !key) return false;
    for (const stored_version* v : versions_of(*col, r.id)) {
      if (v->date_added == r.date_added || (!r.id_copy && v->time_key != *key)) continue;
      // Stored before r: unflagged, or flagged at a lower position (one
      // publish numbers its versions by level, not in request order).
      if (v->later_copy && v->date_added > r.date_added) continue;
      ++read_;
      if (!counts || counts(v->view())) return true;
    }
    return false;
  }

  void lookup(std::span<const collection_key> cs, formats::observable_kind k,
              std::string_view value, const visibility& who,
              const observable_fn& fn) const override {
    auto networks = formats::containing_networks(k, value);
    networks.emplace_back(value);
    for (const collection_key c : cs) {
      const collection_state* col = find(c);
      if (!col) continue;
      for (const auto& [at, v] : col->live) {
        if (!visible(*v, who)) continue;
        // One call per version, with the exact value when it has it.
        const formats::observable* met = nullptr;
        for (const auto& o : v->observables) {
          if (o.kind != k ||
              std::find(networks.begin(), networks.end(), o.value) == networks.end()) {
            continue;
          }
          if (!met || o.value == value) met = &o;
        }
        if (!met) continue;
        ++read_;
        if (!fn(hit_of(*met), v->view())) return;
      }
    }
  }

  void exportable_values(collection_key c, std::span<const formats::observable_kind> kinds,
                         const visibility& who, const observable_fn& fn) const override {
    const collection_state* col = find(c);
    if (!col) return;
    std::vector<std::pair<const formats::observable*, const stored_version*>> found;
    for (const auto& [at, v] : col->live) {
      if (!visible(*v, who)) continue;
      for (const auto& o : v->observables) {
        if (!o.exportable) continue;
        if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), o.kind) == kinds.end()) {
          continue;
        }
        found.emplace_back(&o, v.get());
      }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first->kind, a.first->value, a.second->date_added) <
             std::tie(b.first->kind, b.first->value, b.second->date_added);
    });
    for (const auto& [o, v] : found) {
      ++read_;
      if (!fn(hit_of(*o), v->view())) return;
    }
  }

  std::uint64_t collection_generation(collection_key c) const override {
    const collection_state* col = find(c);
    return col ? col->generation : 0;
  }

  std::optional<status_record> status(std::string_view status_id) const override {
    auto s = state_->statuses.find(status_id);
    if (s == state_->statuses.end() || s->second.stored_at + retention_ <= now_()) {
      return std::nullopt;
    }
    return s->second.status;
  }

  // A walk over every status: the fake holds few.
  status_page owned_statuses(std::string_view owner, const std::optional<status_cursor>& after,
                             std::size_t limit) const override {
    const micros now = now_();
    std::vector<const status_record*> mine;
    for (const auto& [id, st] : state_->statuses) {
      if (st.status.owner != owner || st.stored_at + retention_ <= now) continue;
      if (after && std::tie(st.status.request_timestamp, st.status.id) >=
                       std::tie(after->request_timestamp, after->id)) {
        continue;
      }
      mine.push_back(&st.status);
    }
    std::sort(mine.begin(), mine.end(), [](const status_record* a, const status_record* b) {
      return std::tie(a->request_timestamp, a->id) > std::tie(b->request_timestamp, b->id);
    });
    status_page page;
    const std::size_t n = std::min(limit, max_status_page);
    if (n == 0) return page;
    for (const status_record* st : mine) {
      if (page.statuses.size() == n) {
        page.more = true;
        break;
      }
      page.statuses.push_back({st->id, st->api_root, st->request_timestamp, st->successes.size(),
                               st->failures.size(), st->pendings.size()});
    }
    if (page.more) {
      page.resume = {page.statuses.back().request_timestamp, page.statuses.back().id};
    }
    return page;
  }

  std::uint64_t records_read() const override { return read_; }
  const std::optional<error>& last_error() const override { return no_error_; }

 private:
  static bool visible(const stored_version& v, const visibility& who) {
    return v.tlp <= who.max_level || (!who.publisher.empty() && v.publisher == who.publisher);
  }

  static observable_hit hit_of(const formats::observable& o) {
    return {o.kind, o.value, o.cidr, o.exportable};
  }

  const collection_state* find(collection_key c) const {
    auto col = state_->collections.find(c);
    return col == state_->collections.end() ? nullptr : &col->second;
  }

  std::shared_ptr<const state> state_;
  std::function<micros()> now_;  // the store's clock: statuses expire by it
  micros retention_;
  mutable std::uint64_t read_ = 0;
  std::optional<error> no_error_;
};

// What a reader of an unreachable database sees.
class unavailable_reader final : public reader {
 public:
  void scan(collection_key, micros, const visibility&, const record_fn&) const override {}
  void versions(collection_key, std::string_view, const record_fn&) const override {}
  std::optional<object_record> at(collection_key, micros) const override { return std::nullopt; }
  rank version_rank(const object_record&, const record_fn&) const override { return {}; }
  bool earlier_copy(const object_record&, const record_fn&) const override { return false; }
  void lookup(std::span<const collection_key>, formats::observable_kind, std::string_view,
              const visibility&, const observable_fn&) const override {}
  void exportable_values(collection_key, std::span<const formats::observable_kind>,
                         const visibility&, const observable_fn&) const override {}
  std::uint64_t collection_generation(collection_key) const override { return 0; }
  std::optional<status_record> status(std::string_view) const override { return std::nullopt; }
  status_page owned_statuses(std::string_view, const std::optional<status_cursor>&,
                             std::size_t) const override {
    return {};
  }
  std::uint64_t records_read() const override { return 0; }
  const std::optional<error>& last_error() const override { return error_; }

 private:
  std::optional<error> error_{error{"the database cannot be reached", {}, errc::unavailable}};
};

std::unexpected<error> unreachable() {
  return fail(errc::unavailable, "the database cannot be reached");
}

}  // namespace

// ---------------------------------------------------------------- store

memory_store::memory_store() = default;

memory_store::~memory_store() {
  if (impl_) close();
}

result<std::unique_ptr<memory_store>> memory_store::open(memory_store_options options) {
  auto key = formats::ed25519_key::generate();
  if (!key) return fail("cannot make an audit signing key: " + key.error().message);
  std::unique_ptr<memory_store> s(new memory_store());
  s->impl_ = std::make_unique<impl>(std::move(options), std::move(*key));
  return s;
}

void memory_store::fail_next_writes(unsigned n) {
  impl_->fail_next += n;
}

void memory_store::set_unavailable(bool unavailable) {
  impl_->unavailable = unavailable;
}

bool memory_store::healthy() const {
  return !impl_->unavailable;
}

result<collection_key> memory_store::collection(std::string_view collection_id) {
  if (collection_id.empty() || collection_id.size() > k_max_collection_id_bytes) {
    return fail("a collection id must have 1 to " + std::to_string(k_max_collection_id_bytes) +
                " bytes");
  }
  {
    auto s = impl_->snapshot();
    if (auto known = s->keys.find(collection_id); known != s->keys.end()) return known->second;
  }
  if (std::this_thread::get_id() == impl_->writer.get_id()) {
    return fail("store::collection() must not be called from a write's callback");
  }
  std::promise<result<collection_key>> promise;
  auto done = promise.get_future();
  const bool queued = impl_->submit([this, id = std::string(collection_id), &promise] {
    promise.set_value(impl_->commit<collection_key>([&](state& s) -> result<collection_key> {
      if (auto known = s.keys.find(id); known != s.keys.end()) return known->second;
      const auto key = static_cast<collection_key>(s.keys.size() + 1);
      if (key > impl_->options.max_collections) {
        return fail("too many collections (max_collections is " +
                    std::to_string(impl_->options.max_collections) + ")");
      }
      s.keys.emplace(id, key);
      s.collections[key];
      return key;
    }));
  });
  if (!queued) return fail(errc::unavailable, "the store is closed");
  return done.get();
}

void memory_store::publish(publish_request request, audit_entry record,
                           std::function<void(result<publish_outcome>)> done) {
  auto job = [this, request = std::move(request), record = std::move(record), done]() {
    auto out = impl_->commit<publish_outcome>(
        [&](state& s) { return impl_->apply_publish(s, request, record); });
    if (done) done(std::move(out));
  };
  if (!impl_->submit(std::move(job)) && done) done(fail(errc::unavailable, "the store is closed"));
}

void memory_store::remove(delete_request request, audit_entry record,
                          std::function<void(result<std::size_t>)> done) {
  auto job = [this, request = std::move(request), record = std::move(record), done]() {
    auto out = impl_->commit<std::size_t>(
        [&](state& s) { return impl_->apply_remove(s, request, record); });
    if (done) done(std::move(out));
  };
  if (!impl_->submit(std::move(job)) && done) done(fail(errc::unavailable, "the store is closed"));
}

void memory_store::record(audit_entry entry, std::function<void(result<std::uint64_t>)> done) {
  auto refuse = [&](std::string why) {
    if (done) done(fail(std::move(why)));
  };
  if (!formats::is_audit_action(entry.action)) {
    return refuse("unknown audit action '" + entry.action + "'");
  }
  if (!entry.delivered.empty() && entry.key == 0) {
    return refuse("delivered versions need their collection key");
  }
  if (names_collection_always(entry.action) && entry.collection.empty()) {
    return refuse("a " + entry.action + " record must name its collection");
  }
  formats::audit_record r = head_of(entry, entry.action);
  r.sha256 = entry.sha256;
  r.suppressed = entry.suppressed;
  r.accounts = entry.accounts;
  r.kind = entry.kind;
  r.detail = entry.detail;
  r.evidence = entry.evidence;
  std::sort(r.evidence.begin(), r.evidence.end());
  r.evidence.erase(std::unique(r.evidence.begin(), r.evidence.end()), r.evidence.end());
  if (r.action == "alert" && !entry.delivered.empty()) {
    return refuse("an alert record lists no object versions");
  }
  if (auto checked = formats::check_alert_members(r); !checked) {
    return refuse(checked.error().message);
  }
  // Delivered versions in position order, each once.
  auto items = entry.delivered.items;
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.position < b.position; });
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0 && items[i].position == items[i - 1].position) continue;
    r.objects.push_back({items[i].id, items[i].version});
  }
  auto job = [this, r = std::move(r), done]() {
    auto out = impl_->commit<std::uint64_t>([&](state& s) -> result<std::uint64_t> {
      impl_->append(s, r);
      return s.audit.size();
    });
    if (done) done(std::move(out));
  };
  if (!impl_->submit(std::move(job))) refuse("the store is closed");
}

std::unique_ptr<reader> memory_store::begin_read() const {
  if (impl_->unavailable) return std::make_unique<unavailable_reader>();
  const impl* store = impl_.get();
  return std::make_unique<memory_reader>(
      impl_->snapshot(), [store] { return store->now(); }, impl_->retention);
}

result<audit_page> memory_store::audit_records(const audit_query& q) const {
  const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, max_audit_limit);
  if (!q.action.empty() && !formats::is_audit_action(q.action)) {
    return fail("unknown action '" + q.action + "'");
  }
  if (!q.kind.empty() && !formats::is_alert_kind(q.kind)) {
    return fail("unknown alert kind '" + q.kind + "'");
  }
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  auto matches = [&](const audit_item& a) {
    const formats::audit_record& r = a.record;
    if (!q.account.empty() && r.account != q.account && !r.accounts.contains(q.account)) {
      return false;
    }
    if (!q.object.empty() && std::none_of(r.objects.begin(), r.objects.end(),
                                          [&](const auto& o) { return o.id == q.object; })) {
      return false;
    }
    if (q.scope && !r.collection.empty() &&
        !q.scope->collections.contains({r.api_root, r.collection})) {
      return false;
    }
    return (q.collection.empty() || r.collection == q.collection) &&
           (q.action.empty() || r.action == q.action) &&
           (q.kind.empty() || (r.action == "alert" && r.kind == q.kind)) &&
           (!q.since || a.time >= *q.since);
  };
  audit_page page;
  std::size_t objects = 0;
  std::size_t examined = 0;
  for (std::uint64_t seq = q.after + 1; seq <= s->audit.size(); ++seq) {
    const audit_item& a = *s->audit[seq - 1];
    if (q.until && a.time > *q.until) break;  // times never decrease along seq
    if (++examined > max_audit_examined) {
      page.more = true;
      page.resume = seq - 1;
      break;
    }
    if (!matches(a)) continue;
    if (page.records.size() == limit || objects >= max_audit_page_objects) {
      page.more = true;
      break;
    }
    page.records.push_back(a.json);
    page.resume = seq;
    objects += a.record.objects.size();
  }
  return page;
}

result<std::vector<audit_stats_point>> memory_store::audit_stats(const audit_stats_query& q) const {
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  const auto window = audit_stats_index::window_of(q);
  audit_stats_index::accumulator sum(q);
  for (auto it = s->stats.lower_bound({window.first, {}, {}, {}});
       it != s->stats.end() && std::get<0>(it->first) <= window.last; ++it) {
    const auto& [hour, account, api_root, collection] = it->first;
    if (!audit_stats_index::wanted(q, api_root, collection)) continue;
    if (!sum.add(account, hour, it->second.first, it->second.second)) {
      return audit_stats_index::too_many_points();
    }
  }
  return sum.points();
}

result<std::optional<std::string>> memory_store::audit_record_json(std::uint64_t seq) const {
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  if (seq == 0 || seq > s->audit.size()) return std::optional<std::string>();
  return std::optional<std::string>(s->audit[seq - 1]->json);
}

result<std::uint64_t> memory_store::audit_size() const {
  if (impl_->unavailable) return unreachable();
  return impl_->snapshot()->audit.size();
}

result<std::optional<formats::audit_checkpoint>> memory_store::checkpoint() const {
  if (impl_->unavailable) return unreachable();
  return impl_->snapshot()->checkpoint;
}

void memory_store::checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) {
  auto job = [this, done]() {
    auto out = impl_->commit<formats::audit_checkpoint>(
        [&](state& s) { return impl_->checkpoint_change(s); });
    if (done) done(std::move(out));
  };
  if (!impl_->submit(std::move(job)) && done) done(fail(errc::unavailable, "the store is closed"));
}

result<std::vector<merkle::digest>> memory_store::inclusion_proof(std::uint64_t seq,
                                                                  std::uint64_t tree_size) const {
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  if (seq == 0 || seq > tree_size || tree_size > s->leaves.size()) {
    return fail("an inclusion proof needs 1 <= seq <= tree_size <= " +
                std::to_string(s->leaves.size()));
  }
  return merkle::hash_nodes(merkle::inclusion_nodes(seq - 1, tree_size),
                            [&](merkle::range r) { return merkle::range_hash(s->leaves, r); });
}

result<std::vector<merkle::digest>> memory_store::consistency_proof(std::uint64_t from,
                                                                    std::uint64_t to) const {
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  if (from == 0 || from > to || to > s->leaves.size()) {
    return fail("a consistency proof needs 1 <= from <= to <= " + std::to_string(s->leaves.size()));
  }
  return merkle::hash_nodes(merkle::consistency_nodes(from, to),
                            [&](merkle::range r) { return merkle::range_hash(s->leaves, r); });
}

result<merkle::digest> memory_store::audit_root(std::uint64_t tree_size) const {
  if (impl_->unavailable) return unreachable();
  const auto s = impl_->snapshot();
  if (tree_size > s->leaves.size()) {
    return fail("the log has only " + std::to_string(s->leaves.size()) + " records");
  }
  return merkle::root_of(std::span(s->leaves).first(tree_size));
}

const std::string& memory_store::public_key_pem() const {
  return impl_->public_pem;
}

void memory_store::observe_commits(commit_observer fn) {
  auto next = fn ? std::make_shared<const commit_observer>(std::move(fn)) : nullptr;
  std::lock_guard lock(impl_->observer_mutex);
  impl_->observer = std::move(next);
}

store_stats memory_store::stats() const {
  store_stats out;
  out.commits = impl_->commits;
  out.failed_commits = impl_->failed_commits;
  out.jobs = impl_->jobs;
  out.statuses_purged = impl_->purged;
  {
    std::lock_guard lock(impl_->queue_mutex);
    out.write_queue_depth = impl_->queue.size();
  }
  return out;
}

void memory_store::close() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->closed = true;
  }
  impl_->wake.notify_all();
  // From a write's callback: the writer stops after it, and a later close()
  // (the destructor's) joins it.
  if (std::this_thread::get_id() == impl_->writer.get_id()) return;
  std::lock_guard lock(impl_->close_mutex);
  if (!impl_->writer.joinable()) return;
  impl_->writer.join();
  // A last checkpoint: no writer any more, so this thread commits it.
  if (impl_->snapshot()->audit.empty()) return;
  (void)impl_->commit<formats::audit_checkpoint>(
      [&](state& s) { return impl_->checkpoint_change(s); });
}

}  // namespace cairn::storage

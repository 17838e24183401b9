// The PostgreSQL store (postgres_store.hpp): the writer thread with group
// commit, collections, health and reconnection. What a publish, a delete or
// a read does to the tables is storage/pg/objects.hpp's; the audit log's
// tables are storage/pg/audit.hpp's.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <span>
#include <sstream>
#include <thread>

#include "formats/ed25519.hpp"
#include "storage/pg/audit.hpp"
#include "storage/pg/objects.hpp"
#include "storage/pg/pq.hpp"
#include "storage/pg/schema.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::storage {

namespace {

using steady = std::chrono::steady_clock;

// As the other backends refuse.
constexpr micros k_min_status_retention = micros{24} * 3600 * 1'000'000;
constexpr std::size_t k_max_collection_id_bytes = 256;
// One group commit takes at most this much of the queue.
constexpr std::size_t k_max_batch_jobs = 2000;
constexpr std::size_t k_max_batch_objects = 50'000;
// Reconnection attempts of the writer: from the first to the longest wait.
constexpr auto k_first_retry = std::chrono::milliseconds(100);
constexpr auto k_longest_retry = std::chrono::seconds(2);
// The writer runs ANALYZE when it has stored this many versions, then twice
// as many, ... up to the last (see analyze_if_grown()).
constexpr std::uint64_t k_first_analyze_at = 1000;
constexpr std::uint64_t k_last_analyze_at = 1'000'000;

const pq::statement k_lock_collections{
    "store_lock_collections",
    "SELECT key, last_added FROM collections WHERE key = ANY($1::integer[]) ORDER BY key "
    "FOR UPDATE"};
const pq::statement k_set_last_added{
    "store_set_last_added",
    "UPDATE collections SET last_added = v.last FROM unnest($1::integer[], $2::bigint[]) "
    "AS v(key, last) WHERE collections.key = v.key"};
// Collections are numbered by one node at a time (a transaction-level
// advisory lock, "cairn-c"), so two nodes never race for a key.
const pq::statement k_lock_numbering{"store_lock_numbering",
                                     "SELECT pg_advisory_xact_lock(427035881071)"};
const pq::statement k_collection_by_name{"store_collection_by_name",
                                         "SELECT key FROM collections WHERE name = $1"};
const pq::statement k_free_key{
    "store_free_key",
    "SELECT k FROM generate_series(1, $1::integer) AS k WHERE NOT EXISTS "
    "(SELECT 1 FROM collections c WHERE c.key = k) ORDER BY k LIMIT 1"};
const pq::statement k_add_collection{
    "store_add_collection",
    "INSERT INTO collections (key, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING key"};

std::string normalised_pem(std::string_view pem) {
  std::string out;
  for (const char c : pem) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') out += c;
  }
  return out;
}

result<std::string> read_key_file(const std::string& path) {
  if (path.empty()) return fail("no audit signing key configured (key_path)");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read the audit signing key " + path +
                " (cairnd db init creates it; every node needs a copy)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One queued write.
struct job {
  enum class kind { publish, remove, record, checkpoint } what = kind::record;
  publish_request publish;
  delete_request remove;
  audit_entry entry;        // publish, delete: their record's head
  pg::audit_append append;  // record(): the record
  std::function<void(result<publish_outcome>)> published;
  std::function<void(result<std::size_t>)> removed;
  std::function<void(result<std::uint64_t>)> recorded;
  std::function<void(result<formats::audit_checkpoint>)> checkpointed;

  // Outcomes of the transaction being tried.
  std::optional<error> failed;  // this job alone failed (the others go on)
  publish_outcome publish_out;
  std::size_t removed_out = 0;
  std::uint64_t purged_out = 0;
  std::uint64_t seq_out = 0;
  formats::audit_checkpoint checkpoint_out;

  collection_key key() const {
    return what == kind::publish  ? publish.collection
           : what == kind::remove ? remove.collection
                                  : 0;
  }
  std::size_t weight() const {
    return what == kind::publish  ? std::max<std::size_t>(1, publish.objects.size())
           : what == kind::remove ? std::max<std::size_t>(1, remove.positions.size())
                                  : 1;
  }
  bool alone() const { return what == kind::publish && publish.own_commit; }

  void reset() {
    failed.reset();
    publish_out = {};
    removed_out = 0;
    purged_out = 0;
    seq_out = 0;
    checkpoint_out = {};
  }

  // The callback, with the outcome, or with e when given.
  void finish(const std::optional<error>& e) {
    const std::optional<error>& why = e ? e : failed;
    switch (what) {
      case kind::publish:
        if (published)
          published(why ? result<publish_outcome>(std::unexpected(*why))
                        : result<publish_outcome>(std::move(publish_out)));
        break;
      case kind::remove:
        if (removed) removed(why ? result<std::size_t>(std::unexpected(*why)) : removed_out);
        break;
      case kind::record:
        if (recorded) recorded(why ? result<std::uint64_t>(std::unexpected(*why)) : seq_out);
        break;
      case kind::checkpoint:
        if (checkpointed) {
          checkpointed(why ? result<formats::audit_checkpoint>(std::unexpected(*why))
                           : result<formats::audit_checkpoint>(checkpoint_out));
        }
        break;
    }
  }
};

class pg_store final : public store {
 public:
  pg_store(pg_store_options options, std::unique_ptr<pq::connection> writer_connection,
           formats::ed25519_key key)
      : options_(std::move(options)),
        retention_(std::max(options_.status_retention, k_min_status_retention)),
        audit_(std::move(key), pg::audit_settings{options_.checkpoint_records}),
        pool_(options_),
        conn_(std::move(writer_connection)),
        last_checkpoint_(steady::now()) {
    writer_ = std::thread([this] { run_writer(); });
  }

  ~pg_store() override { close(); }

  result<collection_key> collection(std::string_view collection_id) override;
  void publish(publish_request request, audit_entry record,
               std::function<void(result<publish_outcome>)> done) override;
  void remove(delete_request request, audit_entry record,
              std::function<void(result<std::size_t>)> done) override;
  void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done = {}) override;
  std::unique_ptr<reader> begin_read() const override {
    return pg::make_reader(
        pool_.acquire(), [this] { return now(); }, retention_);
  }

  result<audit_page> audit_records(const audit_query& q) const override {
    if (!q.action.empty() && !formats::is_audit_action(q.action)) {
      return fail("unknown action '" + q.action + "'");
    }
    if (!q.kind.empty() && !formats::is_alert_kind(q.kind)) {
      return fail("unknown alert kind '" + q.kind + "'");
    }
    return leased([&](pq::connection& c) { return audit_.query(c, q); });
  }
  result<std::optional<std::string>> audit_record_json(std::uint64_t seq) const override {
    return leased([&](pq::connection& c) { return audit_.record_json(c, seq); });
  }
  result<std::uint64_t> audit_size() const override {
    return leased([&](pq::connection& c) { return audit_.size(c); });
  }
  result<std::vector<audit_stats_point>> audit_stats(const audit_stats_query& q) const override {
    return leased([&](pq::connection& c) { return audit_.stats(c, q); });
  }
  result<std::optional<formats::audit_checkpoint>> checkpoint() const override {
    return leased([&](pq::connection& c) { return audit_.checkpoint(c); });
  }
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) override {
    job j;
    j.what = job::kind::checkpoint;
    j.checkpointed = std::move(done);
    submit(std::move(j));
  }
  result<std::vector<formats::merkle::digest>> inclusion_proof(
      std::uint64_t seq, std::uint64_t tree_size) const override {
    return leased([&](pq::connection& c) { return audit_.inclusion_proof(c, seq, tree_size); });
  }
  result<std::vector<formats::merkle::digest>> consistency_proof(std::uint64_t from,
                                                                 std::uint64_t to) const override {
    return leased([&](pq::connection& c) { return audit_.consistency_proof(c, from, to); });
  }
  result<formats::merkle::digest> audit_root(std::uint64_t tree_size) const override {
    return leased([&](pq::connection& c) { return audit_.root(c, tree_size); });
  }
  const std::string& public_key_pem() const override { return audit_.public_key_pem(); }

  store_stats stats() const override {
    store_stats out;
    out.commits = commits_;
    out.failed_commits = failed_commits_;
    out.jobs = jobs_;
    out.statuses_purged = purged_;
    return out;
  }

  bool healthy() const override { return !down_ && !pool_.unreachable(); }

  void close() override;

 private:
  micros now() const { return options_.clock ? options_.clock() : formats::now_micros(); }

  // f on a pooled connection (the audit log's reads need no transaction:
  // each reads one statement's snapshot, or rows that never change).
  template <class F>
  auto leased(F&& f) const -> decltype(f(std::declval<pq::connection&>())) {
    auto lease = pool_.acquire();
    if (!lease) return std::unexpected(lease.error());
    return f(**lease);
  }

  void submit(job j);
  void run_writer();
  std::vector<job> take_batch();  // queue_mutex_ held
  void checkpoint_if_due();
  void analyze_if_grown();
  void process(std::vector<job>& batch);
  result<void> run_batch(std::span<job> jobs);
  result<void> commit_batch(std::span<job> jobs);
  void connection_lost(const error& why);
  bool reconnect();
  void timed_checkpoint();
  void probe_pool();
  void probe_writer();

  pg_store_options options_;
  micros retention_;
  pg::audit audit_;
  mutable pq::pool pool_;

  // The writer's.
  std::unique_ptr<pq::connection> conn_;
  steady::time_point last_checkpoint_;
  std::uint64_t appended_since_checkpoint_ = 0;
  steady::duration retry_wait_ = k_first_retry;
  steady::time_point next_retry_{};
  bool whole_batch_failed_ = false;        // the test seam failed the last commit
  std::uint64_t added_since_analyze_ = 0;  // versions this node stored
  std::uint64_t analyze_at_ = k_first_analyze_at;

  std::mutex queue_mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool closed_ = false;
  std::atomic<bool> down_{false};  // the writer cannot reach the database
  std::thread writer_;
  std::mutex close_mutex_;

  std::mutex keys_mutex_;
  std::map<std::string, collection_key, std::less<>> keys_;  // never change once given

  std::atomic<std::uint64_t> commits_{0}, failed_commits_{0}, jobs_{0}, purged_{0};
};

// ---------------------------------------------------------------- callers' side

result<collection_key> pg_store::collection(std::string_view collection_id) {
  if (collection_id.empty() || collection_id.size() > k_max_collection_id_bytes) {
    return fail("a collection id must have 1 to " + std::to_string(k_max_collection_id_bytes) +
                " bytes");
  }
  {
    std::lock_guard lock(keys_mutex_);
    if (auto known = keys_.find(collection_id); known != keys_.end()) return known->second;
  }
  if (std::this_thread::get_id() == writer_.get_id()) {
    return fail("store::collection() must not be called from a write's callback");
  }
  auto lease = pool_.acquire();
  if (!lease) return std::unexpected(lease.error());
  pq::connection& c = **lease;
  auto numbered = [&]() -> result<collection_key> {
    if (auto begun = c.begin(); !begun) return std::unexpected(begun.error());
    if (auto locked = c.run(k_lock_numbering); !locked) return std::unexpected(locked.error());
    const pq::params name = pq::params().text(collection_id);
    auto found = c.run(k_collection_by_name, name);
    if (!found) return std::unexpected(found.error());
    if (found->size() == 0) {
      auto free = c.run(k_free_key, pq::params().integer(options_.max_collections));
      if (!free) return std::unexpected(free.error());
      if (free->size() == 0) {
        return fail("too many collections (max_collections is " +
                    std::to_string(options_.max_collections) + ")");
      }
      const std::int64_t key = free->integer(0, 0);
      auto added = c.run(k_add_collection, pq::params().integer(key).text(collection_id));
      if (!added) return std::unexpected(added.error());
      if (added->size() == 0) {
        // Added meanwhile by someone who does not take the lock (an import).
        found = c.run(k_collection_by_name, name);
        if (!found) return std::unexpected(found.error());
        if (found->size() == 0) return fail(errc::unavailable, "collection key conflict; retry");
      } else {
        found = std::move(added);
      }
    }
    const auto key = static_cast<collection_key>(found->integer(0, 0));
    if (auto committed = c.commit(); !committed) return std::unexpected(committed.error());
    return key;
  };
  auto key = numbered();
  if (!key) {
    c.rollback();
    return key;
  }
  std::lock_guard lock(keys_mutex_);
  keys_.emplace(std::string(collection_id), *key);
  return key;
}

void pg_store::publish(publish_request request, audit_entry record,
                       std::function<void(result<publish_outcome>)> done) {
  job j;
  j.what = job::kind::publish;
  j.entry = std::move(record);
  j.publish = std::move(request);
  j.published = std::move(done);
  submit(std::move(j));
}

void pg_store::remove(delete_request request, audit_entry record,
                      std::function<void(result<std::size_t>)> done) {
  job j;
  j.what = job::kind::remove;
  j.entry = std::move(record);
  j.remove = std::move(request);
  j.removed = std::move(done);
  submit(std::move(j));
}

void pg_store::record(audit_entry entry, std::function<void(result<std::uint64_t>)> done) {
  // An unknown action, delivered versions without a key, a pull without a
  // collection: refused here, on the caller's thread.
  auto append = pg::audit_append_of(entry);
  if (!append) {
    if (done) done(std::unexpected(append.error()));
    return;
  }
  job j;
  j.what = job::kind::record;
  j.append = std::move(*append);
  j.recorded = std::move(done);
  submit(std::move(j));
}

void pg_store::submit(job j) {
  error refused;
  {
    std::lock_guard lock(queue_mutex_);
    if (!closed_ && !down_) {
      queue_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
    // Nothing queues without bound while the database is away.
    refused = closed_ ? error{"the store is closed", {}, errc::unavailable}
                      : error{"the database cannot be reached", {}, errc::unavailable};
  }
  j.finish(refused);
}

void pg_store::close() {
  {
    std::lock_guard lock(queue_mutex_);
    closed_ = true;
  }
  wake_.notify_all();
  // From a write's callback: the writer stops after it; a later close()
  // (the destructor's) joins it.
  if (std::this_thread::get_id() == writer_.get_id()) return;
  std::lock_guard lock(close_mutex_);
  if (writer_.joinable()) writer_.join();
}

// ---------------------------------------------------------------- the writer

void pg_store::run_writer() {
  std::unique_lock lock(queue_mutex_);
  for (;;) {
    // Wake for work, a due checkpoint, a reconnection attempt, or at least
    // every second to see whether the pool can reach the database again.
    auto until = steady::now() + std::chrono::seconds(1);
    if (appended_since_checkpoint_ > 0) {
      until = std::min(until, last_checkpoint_ + options_.checkpoint_interval);
    }
    if (down_) until = std::min(until, next_retry_);
    wake_.wait_until(lock, until, [&] {
      return closed_ || (!queue_.empty() && !down_) || (down_ && steady::now() >= next_retry_);
    });
    const bool closing = closed_;
    if (down_) {
      // Whatever was queued before the loss fails now: nothing is kept
      // waiting for a database that may not come back soon.
      std::deque<job> stranded;
      stranded.swap(queue_);
      lock.unlock();
      for (job& j : stranded) {
        ++jobs_;
        j.finish(error{"the database cannot be reached", {}, errc::unavailable});
      }
      const bool back = !closing && steady::now() >= next_retry_ && reconnect();
      lock.lock();
      if (!back) {
        if (closing) return;
        continue;
      }
    }
    if (!queue_.empty()) {
      std::vector<job> batch = take_batch();
      lock.unlock();
      process(batch);
      checkpoint_if_due();
      analyze_if_grown();
      lock.lock();
      continue;
    }
    lock.unlock();
    if (closing) {
      // A last checkpoint, of whatever the log holds now.
      if (conn_) timed_checkpoint();
      return;
    }
    checkpoint_if_due();
    probe_pool();
    probe_writer();
    lock.lock();
  }
}

// An idle node learns that its database went away only by asking: without
// this, health would say "ok" until the next write failed. One round trip
// per idle second.
void pg_store::probe_writer() {
  if (!conn_ || down_) return;
  auto alive = conn_->exec("SELECT 1");
  if (!alive && conn_->broken()) connection_lost(alive.error());
}

// A new database's tables have no statistics until autovacuum's first
// ANALYZE, which a busy server may be slow to run: meanwhile the planner
// takes the tables for empty, and the statements prepared then (a generic
// plan per connection) scan a whole collection for a few ids. So the
// writer analyses when its own inserts have doubled the rows it has seen,
// up to a size from which autovacuum keeps up. ANALYZE invalidates the
// cached plans of every connection.
void pg_store::analyze_if_grown() {
  if (!conn_ || added_since_analyze_ < analyze_at_ || analyze_at_ > k_last_analyze_at) return;
  auto analysed = conn_->exec("ANALYZE");
  if (!analysed && conn_->broken()) {
    connection_lost(analysed.error());
    return;
  }
  analyze_at_ *= 2;
}

void pg_store::checkpoint_if_due() {
  if (appended_since_checkpoint_ == 0) return;
  if (steady::now() < last_checkpoint_ + options_.checkpoint_interval) return;
  timed_checkpoint();
}

std::vector<job> pg_store::take_batch() {
  std::vector<job> batch;
  if (queue_.front().alone()) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
    return batch;
  }
  std::size_t weight = 0;
  while (!queue_.empty() && !queue_.front().alone() && batch.size() < k_max_batch_jobs &&
         (batch.empty() || weight + queue_.front().weight() <= k_max_batch_objects)) {
    weight += queue_.front().weight();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

// Writer thread: one transaction for the batch, or, when one of its jobs
// makes the transaction fail, one per job so that only that job fails.
void pg_store::process(std::vector<job>& batch) {
  auto lost = [&](std::span<job> jobs, const error& why) {
    connection_lost(why);
    const error unavailable{why.message, {}, errc::unavailable};
    for (job& j : jobs) {
      ++jobs_;
      j.finish(unavailable);
    }
  };
  if (!conn_ && !reconnect()) {
    lost(batch, error{"the database cannot be reached", {}, errc::unavailable});
    return;
  }
  auto done = commit_batch(batch);
  if (done) {
    for (job& j : batch) {
      ++jobs_;
      j.finish(std::nullopt);
    }
    return;
  }
  if (conn_->broken()) return lost(batch, done.error());
  if (std::exchange(whole_batch_failed_, false) || batch.size() == 1) {
    for (job& j : batch) {
      ++jobs_;
      j.finish(done.error());
    }
    return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    job& j = batch[i];
    j.reset();
    auto alone = commit_batch(std::span(&j, 1));
    whole_batch_failed_ = false;
    if (!alone && conn_->broken()) return lost(std::span(batch).subspan(i), alone.error());
    ++jobs_;
    j.finish(alone ? std::nullopt : std::optional<error>(alone.error()));
  }
}

// BEGIN, the jobs, COMMIT; rolled back on failure.
result<void> pg_store::commit_batch(std::span<job> jobs) {
  auto out = run_batch(jobs);
  if (out && options_.before_commit) {
    if (const int rc = options_.before_commit(); rc != 0) {
      // As a commit that failed: every job of the batch fails.
      whole_batch_failed_ = true;
      const errc kind = rc == ENOSPC || rc == EDQUOT ? errc::storage_full : errc::unavailable;
      out = fail(kind, "commit failed: " + std::string(std::strerror(rc)));
    }
  }
  if (out) out = conn_->commit();
  if (!out) {
    conn_->rollback();
    ++failed_commits_;
    return out;
  }
  ++commits_;
  bool checkpointed = false;
  for (const job& j : jobs) {
    if (j.failed) continue;
    purged_ += j.purged_out;
    added_since_analyze_ += j.publish_out.added;
    if (j.what == job::kind::checkpoint)
      checkpointed = true;
    else
      ++appended_since_checkpoint_;
  }
  if (checkpointed) {
    appended_since_checkpoint_ = 0;
    last_checkpoint_ = steady::now();
  }
  return {};
}

result<void> pg_store::run_batch(std::span<job> jobs) {
  if (auto begun = conn_->begin("BEGIN ISOLATION LEVEL READ COMMITTED"); !begun) return begun;

  // 1. The collections' rows, in key order (no deadlock between nodes).
  std::vector<std::int64_t> keys;
  for (const job& j : jobs) {
    if (j.key() != 0) keys.push_back(j.key());
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::map<collection_key, micros> last_added, locked_at;
  if (!keys.empty()) {
    auto rows = conn_->run(k_lock_collections, pq::params().integer_array(keys));
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) {
      const auto key = static_cast<collection_key>(rows->integer(i, 0));
      last_added[key] = locked_at[key] = rows->integer(i, 1);
    }
  }

  // 2. The jobs, in order; their audit records in the same order.
  std::vector<pg::audit_append> records;
  std::vector<std::pair<job*, std::size_t>> record_of;  // job, index in records
  for (job& j : jobs) {
    j.reset();
    if (j.what == job::kind::publish || j.what == job::kind::remove) {
      auto last = last_added.find(j.key());
      if (last == last_added.end()) {
        j.failed =
            error{"unknown collection key " + std::to_string(j.key()), {}, errc::invalid_input};
        continue;
      }
      if (j.what == job::kind::publish) {
        auto published = pg::publish(*conn_, j.publish, now(), last->second, retention_);
        if (!published) return std::unexpected(published.error());
        j.publish_out = std::move(published->outcome);
        j.purged_out = published->statuses_purged;
        records.push_back(pg::audit_append_of(j.entry, "publish", std::move(published->recorded),
                                              j.key(), j.publish_out.added_positions));
      } else {
        auto removed = pg::remove(*conn_, j.remove);
        if (!removed) return std::unexpected(removed.error());
        j.removed_out = removed->size();
        records.push_back(pg::audit_append_of(j.entry, "delete", std::move(*removed)));
      }
      record_of.emplace_back(&j, records.size() - 1);
    } else if (j.what == job::kind::record) {
      records.push_back(j.append);
      record_of.emplace_back(&j, records.size() - 1);
    }
  }

  // 3. The collections' last positions.
  std::vector<std::int64_t> changed_keys, changed_last;
  for (const auto& [key, last] : last_added) {
    if (last == locked_at[key]) continue;
    changed_keys.push_back(key);
    changed_last.push_back(last);
  }
  if (!changed_keys.empty()) {
    auto set = conn_->run(k_set_last_added,
                          pq::params().integer_array(changed_keys).integer_array(changed_last));
    if (!set) return std::unexpected(set.error());
  }

  // 4. The audit records (the log's head row is locked after the
  // collections'), then any checkpoint asked for.
  if (!records.empty()) {
    auto seqs = audit_.append(*conn_, std::move(records), now());
    if (!seqs) return std::unexpected(seqs.error());
    for (const auto& [j, index] : record_of) {
      if (index < seqs->size()) j->seq_out = (*seqs)[index];
    }
  }
  for (job& j : jobs) {
    if (j.what != job::kind::checkpoint) continue;
    auto signed_one = audit_.checkpoint_now(*conn_, now());
    if (!signed_one) {
      // An empty log has nothing to sign: that job alone fails.
      if (signed_one.error().code != errc::not_found || conn_->broken()) {
        return std::unexpected(signed_one.error());
      }
      j.failed = signed_one.error();
      continue;
    }
    j.checkpoint_out = std::move(*signed_one);
  }
  return {};
}

void pg_store::connection_lost(const error& why) {
  conn_.reset();
  if (!down_.exchange(true) && options_.notice) {
    options_.notice("the PostgreSQL writer lost its connection: " + why.message);
  }
  retry_wait_ = k_first_retry;
  next_retry_ = steady::now() + retry_wait_;
}

// Writer thread: a new connection for the writer; false (and the next
// attempt scheduled later) when the database is still away.
bool pg_store::reconnect() {
  auto c = pq::connection::open(options_);
  if (!c) {
    if (!down_.exchange(true) && options_.notice) {
      options_.notice("the PostgreSQL writer cannot connect: " + c.error().message);
    }
    retry_wait_ = std::min<steady::duration>(retry_wait_ * 2, k_longest_retry);
    next_retry_ = steady::now() + retry_wait_;
    return false;
  }
  conn_ = std::move(*c);
  retry_wait_ = k_first_retry;
  if (down_.exchange(false) && options_.notice) {
    options_.notice("the PostgreSQL writer is connected again");
  }
  probe_pool();
  return true;
}

void pg_store::timed_checkpoint() {
  job j;
  j.what = job::kind::checkpoint;
  std::vector<job> batch;
  batch.push_back(std::move(j));
  process(batch);
  // Failed or not, the next attempt waits for the next interval.
  last_checkpoint_ = steady::now();
}

// The pool remembers that its last attempt failed until one succeeds: with
// no reads coming, health would stay "degraded" after the database is back.
void pg_store::probe_pool() {
  if (!pool_.unreachable()) return;
  auto lease = pool_.acquire();
  if (lease) (void)(*lease)->exec("SELECT 1");
}

}  // namespace

result<std::unique_ptr<store>> open_pg_store(const pg_store_options& options) {
  auto pem = read_key_file(options.key_path);
  if (!pem) return std::unexpected(pem.error());
  auto key = formats::ed25519_key::from_private_pem(*pem);
  if (!key) {
    return fail("the audit signing key " + options.key_path +
                " is not an Ed25519 private key: " + key.error().message);
  }
  auto conn = pq::connection::open(options);
  if (!conn) return std::unexpected(conn.error());
  auto schema = pg::check_schema(**conn);
  if (!schema) return std::unexpected(schema.error());
  if (normalised_pem(schema->public_key) != normalised_pem(key->public_pem())) {
    return fail("the audit signing key " + options.key_path +
                " is not this deployment's: its public half differs from the one the "
                "database records (every node must use the key cairnd db init made)");
  }
  auto out = std::make_unique<pg_store>(options, std::move(*conn), std::move(*key));
  // A checkpoint if the log grew after its last one (a node that stopped
  // before its timer signed).
  std::promise<result<formats::audit_checkpoint>> signed_one;
  auto signed_future = signed_one.get_future();
  out->checkpoint_now(
      [&](result<formats::audit_checkpoint> c) { signed_one.set_value(std::move(c)); });
  if (auto c = signed_future.get(); !c && c.error().code != errc::not_found) {
    return std::unexpected(c.error());
  }
  return out;
}

}  // namespace cairn::storage

#pragma once
// The single writer of an LMDB environment, with group commit.
//
// Any thread may submit() jobs. One writer thread takes everything queued (up
// to a bound per batch), runs the jobs inside one write transaction, commits
// once, durably, and then completes every job with its outcome. One fsync thus
// serves every job of the batch. A failing job leaves the others intact: the
// jobs first run straight in the batch's txn (nested txns copy every page a
// job touches that an earlier job already dirtied, which costs much); if one
// of them fails, the batch is aborted and run again with each job in its own
// nested txn, so that only the failing job's writes are dropped.
//
// When the map is full (MDB_MAP_FULL from a job or from the commit), the whole
// batch is aborted, the map is grown (doubled, at least by twice the batch's
// weight, never beyond max_map_size) while no read transaction is active
// (map_guard), and the batch is run again from scratch. When the map cannot
// grow any more, the jobs of the batch are run again one per transaction, so
// that only the jobs that do not fit fail ("storage full"); reads go on.
// Any other commit failure (EIO, ENOSPC, ...) fails every job of the batch:
// nothing of it is acknowledged.
//
// Jobs are generic so that other parts of storage/ (the audit log) can write
// in the same commit as the object store.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "formats/error.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "storage/map_guard.hpp"

namespace cairn::storage {

// One unit of work for the writer. Owned by the writer once submitted.
class write_job {
 public:
  virtual ~write_job() = default;

  // Roughly the bytes the job writes; bounds the size of a batch.
  virtual std::size_t weight() const = 0;

  // True for a job that must run alone in a top-level transaction (one that
  // opens databases, whose handles LMDB only shares once that txn commits,
  // or a publish whose date_added numbering must not be shared).
  virtual bool solo() const { return false; }

  // Writes the job's changes in t, on the writer thread. t is a nested txn of
  // the batch (a top-level txn for solo jobs); run() must not commit or abort
  // it. run() may be called more than once (the batch is re-run after the map
  // grew) and must start over each time, keeping nothing from an earlier run.
  // An error with map_full() aborts the whole batch (the map is grown and the
  // batch re-run); any other error fails this job only.
  virtual lmdb::status run(lmdb::txn& t) = 0;

  // Called on every job of a batch, in batch order, before any job of the
  // batch runs, each time the batch is attempted (attempt grows with each
  // one). t is the batch's txn, for reading only. Lets jobs that share a
  // commit plan together (the object store numbers the new versions of all
  // the publishes of a commit at once); the default does nothing.
  virtual void prepare(const lmdb::txn& t, std::uint64_t attempt) {
    (void)t;
    (void)attempt;
  }

  // Called exactly once, on the writer thread after the batch's outcome is
  // known (or on the submitting thread when the writer is closed). failure is
  // empty when the job's changes are durable; otherwise nothing of the job is
  // stored. Must not block on the writer; exceptions are swallowed.
  virtual void complete(std::optional<error> failure) = 0;
};

struct writer_options {
  std::size_t max_batch_jobs = 256;
  std::size_t max_batch_bytes = std::size_t{32} << 20;  // sum of weights
  std::size_t max_map_size = std::size_t{1} << 40;
};

// Counters, for health reporting and tests.
struct writer_stats {
  std::uint64_t commits = 0;         // successful commits of write txns
  std::uint64_t failed_commits = 0;  // commits that failed (I/O error, injected fault)
  std::uint64_t jobs = 0;            // jobs completed, successful or not
  std::uint64_t map_resizes = 0;
  std::size_t queued = 0;  // jobs submitted, not yet taken into a batch
};

// Told about every commit attempt of the writer (writer thread): its
// duration from the txn's begin to the commit's end, its jobs, its outcome.
using writer_commit_fn = std::function<void(double seconds, std::size_t jobs, bool ok)>;

class writer {
 public:
  // env must be open and outlive the writer; guard is shared with the readers.
  // faults may be null. Starts the writer thread.
  writer(lmdb::env& env, map_guard& guard, writer_options options,
         std::shared_ptr<store_faults> faults);
  ~writer();  // close()
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // Queues job. Once the writer is closed, the job is completed at once on
  // this thread with an error and false is returned. Any thread.
  bool submit(std::unique_ptr<write_job> job);

  // Stops accepting jobs, runs what is queued, stops the thread. Idempotent.
  // From the writer thread itself (a completion), only stops accepting.
  void close();

  bool on_writer_thread() const { return std::this_thread::get_id() == thread_id_; }

  // The current map size in bytes. Any thread.
  std::size_t map_size() const { return map_size_.load(std::memory_order_relaxed); }
  writer_stats stats() const;
  // Replaces the commit observer (empty: none). Any thread.
  void observe_commits(writer_commit_fn fn);

 private:
  enum class outcome { finished, map_full, failed, job_failed };
  using batch = std::vector<std::unique_ptr<write_job>>;

  void loop();
  void run_batch(batch& jobs);
  outcome attempt(batch& jobs, bool isolate, std::vector<std::optional<error>>& failures,
                  std::optional<error>& batch_failure);
  bool grow(std::size_t weight, std::optional<error>& why_not);
  void complete(write_job& job, std::optional<error> failure);
  void report_commit(std::chrono::steady_clock::time_point started, std::size_t jobs, bool ok);

  lmdb::env& env_;
  map_guard& guard_;
  writer_options options_;
  std::shared_ptr<store_faults> faults_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<write_job>> queue_;
  bool closing_ = false;
  std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without mutex_

  // Copied per commit under its own mutex, so that a slow observer never
  // holds up submit().
  std::mutex observer_mutex_;
  std::shared_ptr<const writer_commit_fn> observer_;

  std::atomic<std::size_t> map_size_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
  std::atomic<std::uint64_t> jobs_{0};
  std::atomic<std::uint64_t> map_resizes_{0};
  std::uint64_t attempts_ = 0;  // writer thread only

  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace cairn::storage

#include "storage/writer.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace cairn::storage {

namespace {

constexpr std::size_t k_page = 4096;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// A write that could not begin or commit changed nothing: full if LMDB or the
// disk ran out of room, otherwise unavailable (it may work when retried).
errc write_failure_kind(const lmdb::error& e) {
  return e.kind() == errc::storage_full ? errc::storage_full : errc::unavailable;
}

}  // namespace

writer::writer(lmdb::env& env, map_guard& guard, writer_options options,
               std::shared_ptr<store_faults> faults)
    : env_(env), guard_(guard), options_(options), faults_(std::move(faults)) {
  if (auto info = env_.info()) map_size_ = info->me_mapsize;
  thread_ = std::thread([this] { loop(); });
  thread_id_ = thread_.get_id();
}

writer::~writer() {
  close();
}

bool writer::submit(std::unique_ptr<write_job> job) {
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      queue_.push_back(std::move(job));
      queued_.store(queue_.size(), std::memory_order_relaxed);
      wake_.notify_one();
      return true;
    }
  }
  complete(*job, error{"the store is closed", {}, errc::unavailable});
  return false;
}

void writer::close() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    wake_.notify_one();
  }
  if (on_writer_thread()) return;
  if (thread_.joinable()) thread_.join();
}

writer_stats writer::stats() const {
  writer_stats s;
  s.commits = commits_.load();
  s.failed_commits = failed_commits_.load();
  s.jobs = jobs_.load();
  s.map_resizes = map_resizes_.load();
  s.queued = queued_.load(std::memory_order_relaxed);
  return s;
}

void writer::observe_commits(writer_commit_fn fn) {
  auto next = fn ? std::make_shared<const writer_commit_fn>(std::move(fn)) : nullptr;
  std::lock_guard lock(observer_mutex_);
  observer_ = std::move(next);
}

void writer::loop() {
  batch jobs;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything is done
      std::size_t bytes = 0;
      jobs.clear();
      while (!queue_.empty()) {
        write_job& next = *queue_.front();
        const bool first = jobs.empty();
        if (!first && (next.solo() || jobs.size() >= options_.max_batch_jobs ||
                       bytes + next.weight() > options_.max_batch_bytes)) {
          break;
        }
        bytes += next.weight();
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (jobs.back()->solo()) break;
      }
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    run_batch(jobs);
    jobs.clear();
  }
}

void writer::run_batch(batch& jobs) {
  std::size_t weight = 0;
  for (auto& job : jobs) weight += job->weight();

  std::vector<std::optional<error>> failures(jobs.size());
  // First all jobs straight in the batch's txn; nested txns (each job in its
  // own, so that one failing job spoils nothing else) only when a job failed.
  // Nested txns cost a copy of every page a job touches that an earlier job
  // of the batch already dirtied, and jobs seldom fail.
  bool isolate = false;
  for (;;) {
    std::optional<error> batch_failure;
    std::fill(failures.begin(), failures.end(), std::nullopt);
    switch (attempt(jobs, isolate, failures, batch_failure)) {
      case outcome::finished:
        for (std::size_t i = 0; i < jobs.size(); ++i) complete(*jobs[i], std::move(failures[i]));
        return;
      case outcome::failed:
        for (auto& job : jobs) complete(*job, batch_failure);
        return;
      case outcome::job_failed: isolate = true; continue;
      case outcome::map_full: {
        std::optional<error> why_not;
        if (grow(weight, why_not)) continue;
        if (jobs.size() > 1) {
          // The map is at its limit: give each job its own chance, so that
          // only the ones that do not fit fail.
          for (auto& job : jobs) {
            batch one;
            one.push_back(std::move(job));
            run_batch(one);
          }
          return;
        }
        for (auto& job : jobs) complete(*job, why_not);
        return;
      }
    }
  }
}

writer::outcome writer::attempt(batch& jobs, bool isolate,
                                std::vector<std::optional<error>>& failures,
                                std::optional<error>& batch_failure) {
  const auto started = std::chrono::steady_clock::now();
  auto parent = lmdb::txn::begin(env_);
  if (!parent) {
    if (parent.error().map_full()) return outcome::map_full;
    batch_failure = error{"cannot begin a write transaction: " + parent.error().message,
                          {},
                          write_failure_kind(parent.error())};
    return outcome::failed;
  }

  ++attempts_;
  for (auto& job : jobs) {
    try {
      job->prepare(*parent, attempts_);
    } catch (const std::exception&) {
      // The job meets the same trouble again in run() and reports it there.
    }
  }

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    write_job& job = *jobs[i];
    const bool nested = isolate && !job.solo();
    lmdb::status done;
    try {
      if (!nested) {
        done = job.run(*parent);
      } else {
        auto child = lmdb::txn::begin(env_, &*parent);
        if (!child) {
          done = std::unexpected(child.error());
        } else {
          done = job.run(*child);
          if (done) {
            done = child->commit();
          } else {
            child->abort();
          }
        }
      }
    } catch (const std::exception& e) {
      done = std::unexpected(lmdb::error{EINVAL, std::string("write job failed: ") + e.what()});
    }
    if (!done) {
      if (done.error().map_full()) return outcome::map_full;  // ~parent aborts
      if (nested) {
        failures[i] = done.error().to_error();
        continue;
      }
      if (jobs.size() > 1) return outcome::job_failed;  // ~parent aborts
      // A lone job: its failure is the batch's, and nothing else is at stake.
      failures[i] = done.error().to_error();
      return outcome::finished;
    }
  }

  if (faults_ && faults_->before_commit) {
    if (const int rc = faults_->before_commit()) {
      parent->abort();
      ++failed_commits_;
      report_commit(started, jobs.size(), false);
      const lmdb::error failed = lmdb::failure("mdb_txn_commit", rc).error();
      batch_failure = error{"commit failed: " + failed.message, {}, write_failure_kind(failed)};
      return outcome::failed;
    }
  }
  if (auto committed = parent->commit(); !committed) {
    if (committed.error().map_full()) return outcome::map_full;
    ++failed_commits_;
    report_commit(started, jobs.size(), false);
    batch_failure = error{
        "commit failed: " + committed.error().message, {}, write_failure_kind(committed.error())};
    return outcome::failed;
  }
  ++commits_;
  report_commit(started, jobs.size(), true);
  return outcome::finished;
}

void writer::report_commit(std::chrono::steady_clock::time_point started, std::size_t jobs,
                           bool ok) {
  std::shared_ptr<const writer_commit_fn> observer;
  {
    std::lock_guard lock(observer_mutex_);
    observer = observer_;
  }
  if (!observer) return;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  try {
    (*observer)(took.count(), jobs, ok);
  } catch (...) {
    // An observer must not take the writer thread down with it.
  }
}

bool writer::grow(std::size_t weight, std::optional<error>& why_not) {
  const std::size_t current = map_size_.load();
  const std::size_t limit = options_.max_map_size;
  if (current >= limit) {
    why_not = error{"storage full: the store reached its maximum size of " + std::to_string(limit) +
                        " bytes (max_map_size)",
                    {},
                    errc::storage_full};
    return false;
  }
  std::size_t wanted = std::max(current * 2, current + 2 * weight);
  wanted = std::min(round_up(wanted, k_page), limit);

  guard_.enter_exclusive();
  auto resized = env_.set_mapsize(wanted);
  std::size_t now = wanted;
  if (auto info = env_.info()) now = info->me_mapsize;
  guard_.leave_exclusive();

  if (!resized) {
    why_not = error{
        "storage full: cannot grow the map: " + resized.error().message, {}, errc::storage_full};
    return false;
  }
  map_size_ = now;
  ++map_resizes_;
  return true;
}

void writer::complete(write_job& job, std::optional<error> failure) {
  ++jobs_;
  try {
    job.complete(std::move(failure));
  } catch (...) {
    // A completion must not take the writer thread down with it.
  }
}

}  // namespace cairn::storage

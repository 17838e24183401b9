#pragma once
// The rate limits of the sharing record: authentication failures beyond a
// budget are counted, not written one by one, and fresh checkpoints are
// signed at most once a second. One audit_limiter per exchange.
//
// Authentication failures are recorded one by one up to a per-address and a
// global budget per minute; beyond it they are only counted, so that a flood
// cannot fill the disk. A timer (the daemon's, every flush_interval, and the
// exchange at shutdown) writes what was counted as counter records: one per
// address with failures since the last flush ("suppressed": n, "accounts":
// {name: n, ...} for the known account names those failures gave). So a
// SIGKILL loses at most the counts of the last flush_interval. The records
// per flush, and the names per record, are bounded (auth_failure_budget).
//
// Threads: every function may be called from any I/O thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "storage/store.hpp"

namespace cairn::server {

// Budgets of the auth-failure recording (per minute) and of the counter
// records that stand for the failures beyond them.
struct auth_failure_budget {
  unsigned per_address = 5;
  unsigned overall = 300;
  std::size_t max_addresses = 4096;  // tracked at once; others share one counter
  // Account names one counter record lists; failures for further known
  // accounts are counted under "*". Names are at most 64 bytes (config's
  // rule); a longer one is counted under "*" too.
  std::size_t max_named = 16;
  // Counter records per flush: the addresses with the most failures get their
  // own, the others share one with remote "*".
  std::size_t max_counters = 64;
};

// The rate limiting state of auth-failure records, and of on-demand
// checkpoints. One per exchange.
class audit_limiter {
 public:
  using clock = std::chrono::steady_clock;
  // How often the server flushes: the most of the counts a SIGKILL can take.
  static constexpr std::chrono::seconds flush_interval{5};

  explicit audit_limiter(auth_failure_budget budget = {}) : budget_(budget) {}

  // Told of each auth-failure record once durable: its remote, the failures
  // per known account name it carries, the failures it stands for, its seq
  // (the monitor's auth-failure-burst detector). Set before any use.
  using record_observer =
      std::function<void(std::string remote, std::map<std::string, std::uint64_t> names,
                         std::uint64_t failures, std::uint64_t seq)>;
  void watch(record_observer fn) { observer_ = std::move(fn); }

  // Records (or counts) one authentication failure from remote. account is
  // the claimed name when it is a known account, else empty. The budget is
  // per address_key(remote) (transport/address.hpp: IPv6 by /64), and a counter
  // record's remote is that key.
  void auth_failure(storage::store& log, const std::string& remote, const std::string& account,
                    int status, clock::time_point now = clock::now());
  // Writes the counter records of every failure counted since the last
  // flush, and forgets the windows that have ended. Called every
  // flush_interval, and at shutdown.
  void flush(storage::store& log, clock::time_point now = clock::now());

  // True at most once a second: may GET .../checkpoint sign a fresh one?
  bool fresh_checkpoint_allowed(clock::time_point now = clock::now());

 private:
  using named_counts = std::map<std::string, std::uint64_t>;
  struct window {
    clock::time_point start;
    unsigned recorded = 0;
    std::uint64_t pending = 0;  // counted, not yet written
    named_counts accounts;      // of those pending
    int status = 401;
  };
  void record(storage::store& log, storage::audit_entry e) const;
  void count(named_counts& into, const std::string& account, std::uint64_t n) const;
  storage::audit_entry counter(const std::string& remote, window& w) const;

  auth_failure_budget budget_;
  record_observer observer_;
  std::mutex mutex_;
  std::map<std::string, window, std::less<>> windows_;
  clock::time_point overall_start_{};
  unsigned overall_recorded_ = 0;
  clock::time_point last_checkpoint_{};
};

}  // namespace cairn::server

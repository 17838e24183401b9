#include "server/api/audit_limits.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/monitor/monitor.hpp"
#include "server/transport/address.hpp"

namespace cairn::server {

void audit_limiter::count(named_counts& into, const std::string& account, std::uint64_t n) const {
  if (account.empty()) return;  // the rest of "suppressed": no known name
  constexpr std::size_t max_name_bytes = 64;
  const bool listed = into.contains(account);
  const std::size_t named = into.size() - (into.contains("*") ? 1 : 0);
  if (listed || (named < budget_.max_named && account.size() <= max_name_bytes)) {
    into[account] += n;
  } else {
    into["*"] += n;
  }
}

void audit_limiter::record(storage::store& log, storage::audit_entry e) const {
  if (!observer_) return log.record(std::move(e));
  // A single failure carries its one name; a counter record its counts.
  named_counts names = e.accounts;
  if (!e.account.empty()) names[e.account] += 1;
  const std::uint64_t failures = e.suppressed > 0 ? e.suppressed : 1;
  std::string remote = e.remote;
  log.record(std::move(e), [fn = observer_, remote = std::move(remote), names = std::move(names),
                            failures](result<std::uint64_t> seq) mutable {
    if (const auto n = seq_of(seq)) fn(std::move(remote), std::move(names), failures, n);
  });
}

storage::audit_entry audit_limiter::counter(const std::string& remote, window& w) const {
  storage::audit_entry e;
  e.action = "auth-failure";
  e.remote = remote;
  e.status = w.status;
  e.suppressed = std::exchange(w.pending, 0);
  e.accounts = std::exchange(w.accounts, {});
  return e;
}

void audit_limiter::auth_failure(storage::store& log, const std::string& remote,
                                 const std::string& account, int status, clock::time_point now) {
  constexpr auto minute = std::chrono::minutes(1);
  std::optional<storage::audit_entry> earlier;  // the counts of a window that ended unflushed
  bool write = false;
  {
    std::lock_guard lock(mutex_);
    if (now - overall_start_ >= minute) {
      overall_start_ = now;
      overall_recorded_ = 0;
    }
    // Counted as the throttle counts (IPv6 by /64), so that rotating through
    // one network's addresses does not buy a record budget per address;
    // addresses beyond the table share one counter, under remote "*".
    std::string key = address_key(remote);
    if (!windows_.count(key) && windows_.size() >= budget_.max_addresses) key = "*";
    auto [it, fresh] = windows_.try_emplace(key);
    window& w = it->second;
    if (!fresh && now - w.start >= minute) {
      if (w.pending > 0) earlier = counter(key, w);
      w = window{};
      fresh = true;
    }
    if (fresh) w.start = now;
    if (key != "*" && w.recorded < budget_.per_address && overall_recorded_ < budget_.overall) {
      ++w.recorded;
      ++overall_recorded_;
      write = true;
    } else {
      ++w.pending;
      count(w.accounts, account, 1);
      w.status = status;
    }
  }
  if (earlier) record(log, std::move(*earlier));
  if (write) {
    storage::audit_entry e;
    e.action = "auth-failure";
    e.account = account;
    e.remote = remote;
    e.status = status;
    record(log, std::move(e));
  }
}

void audit_limiter::flush(storage::store& log, clock::time_point now) {
  std::vector<storage::audit_entry> out;
  {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<const std::string, window>*> due;
    window shared;  // remote "*": the table's overflow, and addresses past max_counters
    for (auto& entry : windows_) {
      if (entry.second.pending == 0) continue;
      if (entry.first == "*") {
        shared.pending += entry.second.pending;
        shared.status = entry.second.status;
        for (const auto& [name, n] : entry.second.accounts) count(shared.accounts, name, n);
        entry.second.pending = 0;
        entry.second.accounts.clear();
      } else {
        due.push_back(&entry);
      }
    }
    if (due.size() > budget_.max_counters) {
      // The busiest addresses keep their own records.
      std::partial_sort(
          due.begin(), due.begin() + static_cast<std::ptrdiff_t>(budget_.max_counters), due.end(),
          [](const auto* x, const auto* y) { return x->second.pending > y->second.pending; });
      for (std::size_t i = budget_.max_counters; i < due.size(); ++i) {
        window& w = due[i]->second;
        shared.pending += w.pending;
        shared.status = w.status;
        for (const auto& [name, n] : w.accounts) count(shared.accounts, name, n);
        w.pending = 0;
        w.accounts.clear();
      }
      due.resize(budget_.max_counters);
    }
    for (auto* entry : due) out.push_back(counter(entry->first, entry->second));
    if (shared.pending > 0) out.push_back(counter("*", shared));
    std::erase_if(windows_, [&](const auto& entry) {
      return now - entry.second.start >= std::chrono::minutes(1);
    });
  }
  for (auto& e : out) record(log, std::move(e));
}

bool audit_limiter::fresh_checkpoint_allowed(clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (last_checkpoint_ != clock::time_point{} && now - last_checkpoint_ < std::chrono::seconds(1)) {
    return false;
  }
  last_checkpoint_ = now;
  return true;
}

}  // namespace cairn::server

#pragma once
// The exchange watching its own use (INTERFACE.md, "Monitoring the exchange
// itself"): five detectors, alerts written as audit records, and account
// suspensions.
//
// Detectors, all in memory on one monitor thread:
// - auth-failure-burst: failed authentications (as the audit records carry
//   them: one record per failure, or a counter record standing for many) for
//   one account name, or from one address (address_key()), reaching `count`
//   within `window_s`. The failures an alert counted do not count again.
// - denied-burst: policy refusals (denied records) of one account, likewise.
//   Refusals of a suspended account do not count: they are suspended-use.
// - new-address: an account authenticates from a network (prefix_v4 /
//   prefix_v6 bits) it has not used within memory_days. The first network an
//   account is ever seen from is not an alert.
// - volume: the objects delivered to an account (pull records) within one
//   window of window_s (aligned to the epoch) reach min_objects and exceed
//   factor times its baseline: its mean objects per window over the last
//   baseline_days (0 without history). At most one alert per account per
//   window.
// - suspended-use: a suspended account presented valid credentials; at most
//   one alert per account per denied_burst.window_s.
//
// Evidence: the seq numbers of the records that raised the alert (the
// monitor hears each record's seq from the store's done callback; at most
// max_evidence, the latest). A new-address alert's evidence is the records
// of that account from the new network that follow within a second (its
// authentication alone leaves no record: a discovery request is not logged).
//
// Cost on the request path: suspended() is an atomic load while nobody is
// suspended by the control store (else a shared lock and a set lookup);
// authenticated() takes one of 16 shard locks and compares the account's
// last network; everything else is queued, from the store's callbacks, to
// the monitor thread. No disk write per request: the state (known networks
// with their last-seen day, volume history) is saved to the control store
// every save_interval and at close, so a restart keeps it.
//
// Alerts: recorded with store::record(action "alert"); once durable, a
// `warn` log line and every sink (alert_sink) are told, on the monitor
// thread. A kind listed in auto_suspend suspends the alert's account at once
// in memory and durably in the control store (with the alert's seq) until
// `cairnd account resume`. The control store is read again every
// poll_interval and by reload(), so a resume from another process is seen
// within about a second.
//
// Threads: every public member from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "formats/time.hpp"
#include "server/config/config.hpp"
#include "server/config/log.hpp"
#include "server/monitor/alert.hpp"
#include "storage/control.hpp"
#include "storage/store.hpp"

namespace cairn::server {

// The network an address belongs to for new-address: "192.0.2.0/24",
// "2001:db8:1::/48" (IPv4-mapped IPv6 counts as IPv4); std::nullopt for text
// that is not an IP address.
std::optional<std::string> address_prefix(std::string_view address, unsigned bits_v4,
                                          unsigned bits_v6);
// The same network in binary (what the request path compares), and its text.
struct address_network {
  std::array<unsigned char, 16> bytes{};  // masked; IPv4 in the first 4
  int family = 0;                         // AF_INET or AF_INET6
  unsigned char bits = 0;
  bool operator==(const address_network&) const = default;
};
std::optional<address_network> network_of(std::string_view address, unsigned bits_v4,
                                          unsigned bits_v6);
std::string network_text(const address_network& n);

// The seq a store's done callback reports; 0 when the record failed. Out of
// line: g++ 12 takes an inlined *result for a read of uninitialised memory.
std::uint64_t seq_of(const result<std::uint64_t>& r);

class monitor {
 public:
  struct options {
    std::function<formats::micros()> clock;  // default: formats::now_micros
    // Without a thread (tests), events wait for drain().
    bool thread = true;
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::seconds save_interval{60};
    std::size_t max_evidence = 1000;
    std::size_t max_prefixes = 1000;  // remembered networks per account (oldest dropped)
  };

  // control may be null (no durable suspensions, no saved state). Loads the
  // saved state and the suspensions; starts the thread.
  monitor(storage::store& log, std::unique_ptr<storage::control_store> control, logger& out,
          options o);
  ~monitor();  // stop()
  // Handles what is queued, writes the alerts still pending and waits
  // (bounded) for their records, saves the state, stops the thread.
  // Idempotent; events after it are ignored. The store must still be open.
  void stop();
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;

  // The monitoring settings (SIGHUP); rereads the control store's suspensions.
  void apply(const monitoring_config& cfg);
  void reload();
  void add_sink(std::shared_ptr<alert_sink> sink);
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

  // --- the request path --------------------------------------------------------
  // Suspended by the control store or by an auto_suspend alert (the config's
  // `suspended` is on the account itself).
  bool suspended(std::string_view account) const;
  void authenticated(std::string_view account, std::string_view remote);

  // --- from the audit records' done callbacks (only queue) ---------------------
  // names: failures per known account name the record carries (a counter
  // record's "accounts", or the one name); n: the failures it stands for.
  void auth_failures(std::string remote, std::map<std::string, std::uint64_t> names,
                     std::uint64_t n, std::uint64_t seq);
  void denied(std::string account, std::string remote, std::uint64_t seq);
  void suspended_use(std::string account, std::string remote, std::uint64_t seq);
  void delivered(std::string account, std::string remote, std::uint64_t objects, std::uint64_t seq);

  // Tests (options.thread false): handles what is queued, on this thread.
  void drain();
  // Saves the state now (tests; the thread does it every save_interval).
  result<void> save();
  // Durable and pending suspensions, sorted.
  std::vector<std::string> suspended_accounts() const;

 private:
  struct event;
  struct inbox;
  struct account_state;
  struct burst_state {
    std::deque<std::pair<formats::micros, std::uint64_t>> hits;  // (time, seq)
    std::uint64_t count = 0;                                     // failures in hits
    std::deque<std::uint64_t> counts;                            // per hit
  };

  void post(event e);
  void run();
  void handle(event& e);
  void on_burst(burst_state& b, const monitoring_config::burst& rule, formats::micros t,
                std::uint64_t n, std::uint64_t seq, std::string_view kind, std::string account,
                std::string remote, std::string_view what);
  void on_new_address(event& e);
  void on_delivered(event& e);
  void flush_new_address(formats::micros now, bool all);
  void raise(std::string_view kind, std::string account, std::string remote, std::string detail,
             std::vector<std::uint64_t> evidence);
  void on_recorded(event& e);
  void refresh_suspensions();
  void load_state();
  std::string state_blob() const;
  std::vector<std::uint64_t> cap(std::vector<std::uint64_t> v) const;

  storage::store& log_;
  std::unique_ptr<storage::control_store> control_;  // used by the monitor thread (and ctor/dtor)
  std::mutex control_mutex_;
  logger& out_;
  options options_;
  std::atomic<bool> enabled_{true};

  // Read on the request path.
  mutable std::shared_mutex suspended_mutex_;
  std::set<std::string, std::less<>> durable_;  // the control store's, last read
  std::set<std::string, std::less<>> pending_;  // auto-suspended, not yet durable
  std::atomic<std::size_t> suspended_count_{0};

  // Found by the account's name without making a string of it.
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct shard {
    struct seen {
      address_network net;
      std::int64_t day = 0;
    };
    std::mutex mutex;
    std::unordered_map<std::string, seen, name_hash, std::equal_to<>> last;
  };
  static constexpr std::size_t k_shards = 16;
  shard shards_[k_shards];
  std::atomic<unsigned> prefix_v4_{24};
  std::atomic<unsigned> prefix_v6_{48};

  std::shared_ptr<inbox> inbox_;

  // The monitor thread's own (and drain()'s).
  std::mutex state_mutex_;
  monitoring_config cfg_;
  std::map<std::string, burst_state> auth_by_name_, auth_by_address_, denied_;
  std::map<std::string, formats::micros> suspended_use_at_;
  std::map<std::string, std::unique_ptr<account_state>, std::less<>> accounts_;
  struct pending_new_address {
    std::string account, remote, net, detail;
    formats::micros due = 0;
    std::vector<std::uint64_t> evidence;
  };
  std::vector<pending_new_address> new_address_;
  std::vector<std::shared_ptr<alert_sink>> sinks_;
  bool dirty_ = false;
  bool control_failed_ = false;      // the last read of the suspensions failed (logged once)
  bool loaded_suspensions_ = false;  // suspensions read once (later additions are logged)
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace cairn::server

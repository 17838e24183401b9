#include "server/monitor/monitor.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "formats/json.hpp"
#include "server/transport/address.hpp"

namespace cairn::server {

namespace {

constexpr formats::micros k_second = 1'000'000;
constexpr formats::micros k_day = 86'400 * k_second;
// How long a new-address alert waits for the records of its first requests.
constexpr formats::micros k_new_address_wait = k_second;
// Queued events beyond this are dropped (counted and logged): the monitor
// must never hold up the store's callbacks nor grow without bound.
constexpr std::size_t k_max_queue = 1'000'000;
// Burst keys tracked at once per detector (addresses are client-controlled).
constexpr std::size_t k_max_burst_keys = 100'000;
// Past windows remembered per account for the volume baseline (a week of
// hours is 168).
constexpr std::size_t k_max_windows = 20'000;
constexpr std::string_view k_state_key = "monitor";

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

std::optional<address_network> network_of(std::string_view address, unsigned bits_v4,
                                          unsigned bits_v6) {
  // inet_pton needs a terminated string: an address is at most 45
  // characters (more is no address), brackets aside.
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  char text[64];
  if (address.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, address.data(), address.size());
  text[address.size()] = '\0';
  address_network n;
  auto mask = [&](unsigned len, unsigned bits) {
    n.family = len == 4 ? AF_INET : AF_INET6;
    n.bits = static_cast<unsigned char>(bits);
    for (unsigned i = 0; i < len; ++i) {
      const unsigned keep = bits > i * 8 ? std::min(8u, bits - i * 8) : 0;
      n.bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff);
    }
  };
  if (::inet_pton(AF_INET, text, n.bytes.data()) == 1) {
    mask(4, bits_v4);
    return n;
  }
  if (::inet_pton(AF_INET6, text, n.bytes.data()) != 1) return std::nullopt;
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(n.bytes.data(), mapped, 12) == 0) {
    std::memmove(n.bytes.data(), n.bytes.data() + 12, 4);
    std::memset(n.bytes.data() + 4, 0, 12);
    mask(4, bits_v4);
    return n;
  }
  mask(16, bits_v6);
  return n;
}

std::string network_text(const address_network& n) {
  char out[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(n.family, n.bytes.data(), out, sizeof out);
  return std::string(out) + "/" + std::to_string(n.bits);
}

std::optional<std::string> address_prefix(std::string_view address, unsigned bits_v4,
                                          unsigned bits_v6) {
  auto n = network_of(address, bits_v4, bits_v6);
  if (!n) return std::nullopt;
  return network_text(*n);
}

[[gnu::noinline]] std::uint64_t seq_of(const result<std::uint64_t>& r) {
  return r.has_value() ? r.value() : 0;
}

struct monitor::event {
  enum class type { auth_failures, denied, suspended_use, delivered, authenticated, recorded };
  type what = type::denied;
  formats::micros time = 0;
  std::string account;
  std::string remote;
  std::map<std::string, std::uint64_t> names;
  std::uint64_t n = 0;
  std::uint64_t seq = 0;
  // recorded: the alert, whether its record is durable, and whether it
  // suspends its account.
  alert a{};
  std::optional<std::string> failure{};
  bool suspend = false;
};

struct monitor::inbox {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<event> queue;
  bool stop = false;
  std::uint64_t dropped = 0;
  std::atomic<std::size_t> in_flight{0};  // alert records not yet reported back
};

struct monitor::account_state {
  std::map<std::string, std::int64_t> nets;  // network -> last day seen
  bool seen = false;                         // any network ever (first is no alert)
  std::int64_t window = -1;                  // volume: the current window's index
  std::uint64_t in_window = 0;
  std::vector<std::uint64_t> seqs;
  bool alerted = false;
  std::int64_t first_window = -1;
  std::map<std::int64_t, std::uint64_t> windows;  // window -> objects (past windows with any)
};

monitor::monitor(storage::store& log, std::unique_ptr<storage::control_store> control, logger& out,
                 options o)
    : log_(log),
      control_(std::move(control)),
      out_(out),
      options_(std::move(o)),
      inbox_(std::make_shared<inbox>()) {
  if (!options_.clock) options_.clock = [] { return formats::now_micros(); };
  load_state();
  refresh_suspensions();
  if (options_.thread) thread_ = std::thread([this] { run(); });
}

monitor::~monitor() {
  stop();
}

void monitor::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    {
      std::lock_guard l(inbox_->mutex);
      inbox_->stop = true;
    }
    inbox_->wake.notify_one();
    thread_.join();
  } else {
    drain();
    {
      std::lock_guard s(state_mutex_);
      flush_new_address(0, true);
    }
    drain();
    std::lock_guard l(inbox_->mutex);
    inbox_->stop = true;
  }
  if (auto r = save(); !r) {
    out_.error("monitor state not saved", {{"reason", r.error().message}});
  }
}

void monitor::apply(const monitoring_config& cfg) {
  {
    std::lock_guard s(state_mutex_);
    if (cfg.volume_window_s != cfg_.volume_window_s) {
      for (auto& [name, a] : accounts_) {
        a->window = -1;
        a->in_window = 0;
        a->seqs.clear();
        a->first_window = -1;
      }
    }
    cfg_ = cfg;
  }
  prefix_v4_ = cfg.prefix_v4;
  prefix_v6_ = cfg.prefix_v6;
  enabled_ = cfg.enabled;
  reload();
}

void monitor::reload() {
  std::lock_guard c(control_mutex_);
  refresh_suspensions();
}

void monitor::add_sink(std::shared_ptr<alert_sink> sink) {
  std::lock_guard s(state_mutex_);
  sinks_.push_back(std::move(sink));
}

bool monitor::suspended(std::string_view account) const {
  if (suspended_count_.load(std::memory_order_acquire) == 0) return false;
  std::shared_lock l(suspended_mutex_);
  return durable_.contains(account) || pending_.contains(account);
}

std::vector<std::string> monitor::suspended_accounts() const {
  std::shared_lock l(suspended_mutex_);
  std::set<std::string> all(durable_.begin(), durable_.end());
  all.insert(pending_.begin(), pending_.end());
  return {all.begin(), all.end()};
}

void monitor::authenticated(std::string_view account, std::string_view remote) {
  if (!enabled()) return;
  // Compared in binary: the network's text is made only for an event.
  auto net = network_of(remote, prefix_v4_.load(), prefix_v6_.load());
  if (!net) return;
  const auto now = options_.clock();
  const std::int64_t day = floor_div(now, k_day);
  // Most requests come from the network an account used last, today: one
  // shard lock and a comparison, nothing queued nor allocated.
  shard& sh = shards_[std::hash<std::string_view>{}(account) % k_shards];
  {
    std::lock_guard l(sh.mutex);
    auto it = sh.last.find(account);
    if (it == sh.last.end()) it = sh.last.emplace(std::string(account), shard::seen{}).first;
    auto& last = it->second;
    if (last.net == *net && last.day == day) return;
    last = {*net, day};
  }
  event e;
  e.what = event::type::authenticated;
  e.time = now;
  e.account = std::string(account);
  e.remote = std::string(remote);
  e.names.emplace(network_text(*net), 0);
  post(std::move(e));
}

void monitor::auth_failures(std::string remote, std::map<std::string, std::uint64_t> names,
                            std::uint64_t n, std::uint64_t seq) {
  if (!enabled()) return;
  event e;
  e.what = event::type::auth_failures;
  e.time = options_.clock();
  e.remote = std::move(remote);
  e.names = std::move(names);
  e.n = n;
  e.seq = seq;
  post(std::move(e));
}

void monitor::denied(std::string account, std::string remote, std::uint64_t seq) {
  if (!enabled()) return;
  event e;
  e.what = event::type::denied;
  e.time = options_.clock();
  e.account = std::move(account);
  e.remote = std::move(remote);
  e.seq = seq;
  post(std::move(e));
}

void monitor::suspended_use(std::string account, std::string remote, std::uint64_t seq) {
  if (!enabled()) return;
  event e;
  e.what = event::type::suspended_use;
  e.time = options_.clock();
  e.account = std::move(account);
  e.remote = std::move(remote);
  e.seq = seq;
  post(std::move(e));
}

void monitor::delivered(std::string account, std::string remote, std::uint64_t objects,
                        std::uint64_t seq) {
  if (!enabled()) return;
  event e;
  e.what = event::type::delivered;
  e.time = options_.clock();
  e.account = std::move(account);
  e.remote = std::move(remote);
  e.n = objects;
  e.seq = seq;
  post(std::move(e));
}

void monitor::post(event e) {
  {
    std::lock_guard l(inbox_->mutex);
    if (inbox_->stop) return;
    if (inbox_->queue.size() >= k_max_queue) {
      ++inbox_->dropped;
      return;
    }
    inbox_->queue.push_back(std::move(e));
  }
  inbox_->wake.notify_one();
}

void monitor::drain() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::vector<event> batch;
    {
      std::lock_guard l(inbox_->mutex);
      batch.swap(inbox_->queue);
    }
    if (batch.empty()) {
      // Alert records still on their way back from the store.
      if (inbox_->in_flight.load() == 0 || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    std::lock_guard s(state_mutex_);
    for (auto& e : batch) handle(e);
    flush_new_address(options_.clock(), false);
  }
  std::lock_guard s(state_mutex_);
  flush_new_address(options_.clock(), false);
}

void monitor::run() {
  auto last_poll = std::chrono::steady_clock::now();
  auto last_save = last_poll;
  std::uint64_t reported_drops = 0;
  for (;;) {
    std::vector<event> batch;
    bool stopping = false;
    std::uint64_t dropped = 0;
    {
      std::unique_lock l(inbox_->mutex);
      inbox_->wake.wait_for(l, options_.poll_interval,
                            [&] { return inbox_->stop || !inbox_->queue.empty(); });
      batch.swap(inbox_->queue);
      stopping = inbox_->stop;
      dropped = inbox_->dropped;
    }
    if (dropped != reported_drops) {
      out_.error("monitor queue full; events dropped", {{"dropped", dropped - reported_drops}});
      reported_drops = dropped;
    }
    {
      std::lock_guard s(state_mutex_);
      for (auto& e : batch) handle(e);
      flush_new_address(options_.clock(), stopping);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll >= options_.poll_interval) {
      last_poll = now;
      std::lock_guard c(control_mutex_);
      refresh_suspensions();
    }
    if (now - last_save >= options_.save_interval) {
      last_save = now;
      if (auto r = save(); !r)
        out_.error("monitor state not saved", {{"reason", r.error().message}});
    }
    if (stopping && batch.empty()) {
      // The alerts raised last come back from the store once durable; wait
      // for them (bounded) so that their suspensions are written.
      const auto deadline = now + std::chrono::seconds(2);
      while (inbox_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::vector<event> late;
        {
          std::lock_guard l(inbox_->mutex);
          late.swap(inbox_->queue);
        }
        std::lock_guard s(state_mutex_);
        for (auto& e : late) handle(e);
      }
      std::vector<event> late;
      {
        std::lock_guard l(inbox_->mutex);
        late.swap(inbox_->queue);
      }
      std::lock_guard s(state_mutex_);
      for (auto& e : late) handle(e);
      return;
    }
  }
}

void monitor::handle(event& e) {
  using type = event::type;
  // A new network's alert lists the records that follow from it.
  if (e.what != type::authenticated && e.what != type::recorded && e.seq != 0) {
    for (auto& p : new_address_) {
      if (p.account == e.account && e.time <= p.due &&
          address_prefix(e.remote, cfg_.prefix_v4, cfg_.prefix_v6) == p.net &&
          p.evidence.size() < options_.max_evidence) {
        p.evidence.push_back(e.seq);
      }
    }
  }
  switch (e.what) {
    case type::auth_failures: {
      for (const auto& [name, n] : e.names) {
        if (name.empty() || name == "*" || n == 0) continue;
        if (!auth_by_name_.contains(name) && auth_by_name_.size() >= k_max_burst_keys) continue;
        on_burst(auth_by_name_[name], cfg_.auth_failure_burst, e.time, n, e.seq,
                 k_alert_auth_failure_burst, name, e.remote,
                 "failed authentications for account '" + name + "'");
      }
      if (e.remote.empty() || e.remote == "*" || e.n == 0) break;
      const std::string key = address_key(e.remote);
      if (!auth_by_address_.contains(key) && auth_by_address_.size() >= k_max_burst_keys) break;
      on_burst(auth_by_address_[key], cfg_.auth_failure_burst, e.time, e.n, e.seq,
               k_alert_auth_failure_burst, "", key, "failed authentications from " + key);
      break;
    }
    case type::denied: {
      if (e.account.empty()) break;
      if (!denied_.contains(e.account) && denied_.size() >= k_max_burst_keys) break;
      on_burst(denied_[e.account], cfg_.denied_burst, e.time, 1, e.seq, k_alert_denied_burst,
               e.account, e.remote, "requests of account '" + e.account + "' refused by policy");
      break;
    }
    case type::suspended_use: {
      auto& last = suspended_use_at_[e.account];
      const formats::micros window = formats::micros{cfg_.denied_burst.window_s} * k_second;
      if (last != 0 && e.time - last < window) break;
      last = e.time;
      raise(k_alert_suspended_use, e.account, e.remote,
            "suspended account '" + e.account + "' presented valid credentials from " + e.remote,
            {e.seq});
      break;
    }
    case type::delivered: on_delivered(e); break;
    case type::authenticated: on_new_address(e); break;
    case type::recorded: on_recorded(e); break;
  }
}

void monitor::on_burst(burst_state& b, const monitoring_config::burst& rule, formats::micros t,
                       std::uint64_t n, std::uint64_t seq, std::string_view kind,
                       std::string account, std::string remote, std::string_view what) {
  const formats::micros window = formats::micros{rule.window_s} * k_second;
  b.hits.emplace_back(t, seq);
  b.counts.push_back(n);
  b.count += n;
  while (!b.hits.empty() && t - b.hits.front().first >= window) {
    b.count -= b.counts.front();
    b.hits.pop_front();
    b.counts.pop_front();
  }
  if (b.count < rule.count) return;
  std::vector<std::uint64_t> evidence;
  for (const auto& h : b.hits) {
    if (h.second != 0) evidence.push_back(h.second);
  }
  const std::uint64_t total = b.count;
  b = burst_state{};
  raise(kind, std::move(account), std::move(remote),
        std::string(what) + ": " + std::to_string(total) + " within " +
            std::to_string(rule.window_s) + " s (threshold " + std::to_string(rule.count) + ")",
        std::move(evidence));
}

void monitor::on_new_address(event& e) {
  if (e.names.empty()) return;
  const std::string net = e.names.begin()->first;
  auto& slot = accounts_[e.account];
  if (!slot) slot = std::make_unique<account_state>();
  account_state& s = *slot;
  const std::int64_t day = floor_div(e.time, k_day);
  auto it = s.nets.find(net);
  const bool known = it != s.nets.end() && day - it->second <= cfg_.memory_days;
  const bool first = !s.seen;
  if (it == s.nets.end() || it->second != day) dirty_ = true;
  s.seen = true;
  s.nets[net] = std::max(day, it == s.nets.end() ? day : it->second);
  std::erase_if(s.nets, [&](const auto& n) { return day - n.second > cfg_.memory_days; });
  while (s.nets.size() > options_.max_prefixes) {
    auto oldest = std::min_element(s.nets.begin(), s.nets.end(), [](const auto& x, const auto& y) {
      return x.second < y.second;
    });
    s.nets.erase(oldest);
  }
  if (first || known) return;
  for (const auto& p : new_address_) {
    if (p.account == e.account && p.net == net) return;
  }
  pending_new_address p;
  p.account = e.account;
  p.remote = e.remote;
  p.net = net;
  p.due = e.time + k_new_address_wait;
  p.detail = "account '" + e.account + "' authenticated from " + net +
             ", a network it has not used within " + std::to_string(cfg_.memory_days) + " days";
  new_address_.push_back(std::move(p));
}

void monitor::flush_new_address(formats::micros now, bool all) {
  std::vector<pending_new_address> due;
  std::erase_if(new_address_, [&](pending_new_address& p) {
    if (!all && p.due > now) return false;
    due.push_back(std::move(p));
    return true;
  });
  for (auto& p : due) {
    std::sort(p.evidence.begin(), p.evidence.end());
    raise(k_alert_new_address, std::move(p.account), std::move(p.remote), std::move(p.detail),
          std::move(p.evidence));
  }
}

void monitor::on_delivered(event& e) {
  if (e.account.empty() || e.n == 0) return;
  auto& slot = accounts_[e.account];
  if (!slot) slot = std::make_unique<account_state>();
  account_state& s = *slot;
  const formats::micros window_us = formats::micros{cfg_.volume_window_s} * k_second;
  const std::int64_t w = floor_div(e.time, window_us);
  const std::int64_t span = std::max<std::int64_t>(
      1, formats::micros{cfg_.volume_baseline_days} * k_day / window_us);  // windows
  if (s.window != w) {
    if (s.window >= 0 && s.in_window > 0) s.windows[s.window] += s.in_window;
    s.window = w;
    s.in_window = 0;
    s.seqs.clear();
    s.alerted = false;
    std::erase_if(s.windows, [&](const auto& x) { return x.first < w - span; });
    while (s.windows.size() > k_max_windows) s.windows.erase(s.windows.begin());
  }
  if (s.first_window < 0 || s.first_window > w) s.first_window = w;
  dirty_ = true;
  s.in_window += e.n;
  s.seqs.push_back(e.seq);
  if (s.seqs.size() > options_.max_evidence) s.seqs.erase(s.seqs.begin());
  if (s.alerted || s.in_window < cfg_.volume_min_objects) return;
  // Its usual objects per window: what it received in the windows of the
  // last baseline_days before this one, over the number of those windows
  // since it first received anything (0 without history).
  const std::int64_t windows = w - std::max(s.first_window, w - span);
  std::uint64_t history = 0;
  for (const auto& [x, n] : s.windows) {
    if (x >= w - span && x < w) history += n;
  }
  const double baseline =
      windows > 0 ? static_cast<double>(history) / static_cast<double>(windows) : 0.0;
  if (static_cast<double>(s.in_window) <= cfg_.volume_factor * baseline) return;
  s.alerted = true;
  char usual[32];
  std::snprintf(usual, sizeof usual, "%.0f", baseline);
  raise(k_alert_volume, e.account, e.remote,
        "account '" + e.account + "' received " + std::to_string(s.in_window) + " objects within " +
            std::to_string(cfg_.volume_window_s) + " s; its usual is " + usual +
            " per window over the last " + std::to_string(cfg_.volume_baseline_days) + " days",
        s.seqs);
}

std::vector<std::uint64_t> monitor::cap(std::vector<std::uint64_t> v) const {
  if (v.size() > options_.max_evidence) {
    v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(options_.max_evidence));
  }
  return v;
}

void monitor::raise(std::string_view kind, std::string account, std::string remote,
                    std::string detail, std::vector<std::uint64_t> evidence) {
  std::sort(evidence.begin(), evidence.end());
  evidence.erase(std::unique(evidence.begin(), evidence.end()), evidence.end());
  evidence = cap(std::move(evidence));
  const bool suspend = !account.empty() && kind != k_alert_suspended_use &&
                       std::find(cfg_.auto_suspend.begin(), cfg_.auto_suspend.end(), kind) !=
                           cfg_.auto_suspend.end();
  if (suspend) {
    // At once: the next request of the account is refused, before the
    // record and the control store are written.
    std::unique_lock l(suspended_mutex_);
    pending_.insert(account);
    suspended_count_.store(durable_.size() + pending_.size(), std::memory_order_release);
  }
  storage::audit_entry entry;
  entry.action = "alert";
  entry.kind = std::string(kind);
  entry.account = account;
  entry.remote = remote;
  entry.detail = detail;
  entry.evidence = evidence;
  alert a;
  a.kind = std::string(kind);
  a.account = std::move(account);
  a.remote = std::move(remote);
  a.detail = std::move(detail);
  a.evidence = std::move(evidence);
  ++inbox_->in_flight;
  log_.record(std::move(entry), [box = std::weak_ptr<inbox>(inbox_), a = std::move(a), suspend,
                                 clock = options_.clock](result<std::uint64_t> seq) mutable {
    auto in = box.lock();
    if (!in) return;
    event e;
    e.what = event::type::recorded;
    e.time = clock();
    e.suspend = suspend;
    a.seq = seq_of(seq);
    if (a.seq == 0) e.failure = seq ? "no seq" : seq.error().message;
    e.a = std::move(a);
    {
      std::lock_guard l(in->mutex);
      in->queue.push_back(std::move(e));
      --in->in_flight;
    }
    in->wake.notify_one();
  });
}

void monitor::on_recorded(event& e) {
  alert& a = e.a;
  a.time = formats::format_taxii_time(e.time);
  if (e.failure) {
    out_.error("alert could not be recorded",
               {{"kind", a.kind}, {"account", a.account}, {"reason", *e.failure}});
  } else {
    // The record's own time, so that the log, the API and the sinks agree.
    if (auto json = log_.audit_record_json(a.seq); json && *json) {
      if (auto doc = formats::parse_json(**json)) {
        if (auto t = doc->root().get("time"); t && t->is_string()) a.time = t->as_string();
      }
    }
    out_.warn("alert", {{"kind", a.kind},
                        {"account", a.account},
                        {"remote", a.remote},
                        {"seq", a.seq},
                        {"evidence", a.evidence.size()},
                        {"detail", a.detail}});
    for (const auto& sink : sinks_) sink->on_alert(a);
  }
  if (!e.suspend) return;
  std::lock_guard c(control_mutex_);
  if (control_) {
    storage::suspension s{a.account, a.kind, a.seq, e.time};
    if (auto r = control_->suspend(s); !r) {
      out_.error("suspension not stored; it holds until restart",
                 {{"account", a.account}, {"reason", r.error().message}});
      return;
    }
  }
  out_.warn("account suspended",
            {{"account", a.account},
             {"kind", a.kind},
             {"alert_seq", a.seq},
             {"resume", "cairnd account resume " + a.account + " --config FILE"}});
  if (!control_) return;
  {
    std::unique_lock l(suspended_mutex_);
    durable_.insert(a.account);
    pending_.erase(a.account);
    suspended_count_.store(durable_.size() + pending_.size(), std::memory_order_release);
  }
}

void monitor::refresh_suspensions() {
  if (!control_) return;
  auto list = control_->suspensions();
  if (!list) {
    if (!control_failed_) {
      out_.error("cannot read the suspensions", {{"reason", list.error().message}});
    }
    control_failed_ = true;
    return;
  }
  control_failed_ = false;
  std::set<std::string, std::less<>> fresh;
  for (const auto& s : *list) fresh.insert(s.account);
  std::unique_lock l(suspended_mutex_);
  for (const auto& name : durable_) {
    if (!fresh.contains(name) && !pending_.contains(name)) {
      out_.warn("account resumed", {{"account", name}});
    }
  }
  if (loaded_suspensions_) {
    for (const auto& name : fresh) {
      if (!durable_.contains(name) && !pending_.contains(name)) {
        out_.warn("account suspended", {{"account", name}});
      }
    }
  }
  loaded_suspensions_ = true;
  durable_ = std::move(fresh);
  suspended_count_.store(durable_.size() + pending_.size(), std::memory_order_release);
}

// The state blob:
// {"version":1,"window_s":N,"accounts":{"name":{"nets":{"net":day,...},
//  "seen":true,"first_window":N,"window":N,"in_window":N,"windows":{"N":N}}}}
std::string monitor::state_blob() const {
  formats::json_writer w;
  w.begin_object();
  w.member("version", std::int64_t{1});
  w.member("window_s", static_cast<std::int64_t>(cfg_.volume_window_s));
  w.key("accounts").begin_object();
  for (const auto& [name, a] : accounts_) {
    w.key(name).begin_object();
    w.key("nets").begin_object();
    for (const auto& [net, day] : a->nets) w.member(net, static_cast<std::int64_t>(day));
    w.end_object();
    w.member("seen", a->seen);
    w.member("first_window", a->first_window);
    w.member("window", a->window);
    w.member("in_window", static_cast<std::int64_t>(a->in_window));
    w.key("windows").begin_object();
    for (const auto& [x, n] : a->windows) w.member(std::to_string(x), static_cast<std::int64_t>(n));
    w.end_object();
    w.end_object();
  }
  w.end_object();
  w.end_object();
  return w.take();
}

result<void> monitor::save() {
  std::string blob;
  {
    std::lock_guard s(state_mutex_);
    if (!dirty_) return {};
    blob = state_blob();
    dirty_ = false;
  }
  std::lock_guard c(control_mutex_);
  if (!control_) return {};
  auto r = control_->save(k_state_key, blob);
  if (!r) {
    std::lock_guard s(state_mutex_);
    dirty_ = true;
  }
  return r;
}

void monitor::load_state() {
  if (!control_) return;
  auto blob = control_->load(k_state_key);
  if (!blob) {
    out_.error("monitor state not loaded; starting afresh", {{"reason", blob.error().message}});
    return;
  }
  if (!*blob) return;
  auto doc = formats::parse_json(**blob);
  auto bad = [&] { out_.error("monitor state is damaged; starting afresh"); };
  if (!doc || !doc->root().is_object()) return bad();
  const auto root = doc->root();
  const auto accounts = root.get("accounts");
  const auto window_s = root.get("window_s");
  if (!accounts || !accounts->is_object() || !window_s || !window_s->is_integer()) return bad();
  const bool same_window = window_s->as_int() == static_cast<std::int64_t>(cfg_.volume_window_s);
  auto int_of = [](const std::optional<formats::json_view>& v, std::int64_t dflt) {
    return v && v->is_integer() ? v->as_int() : dflt;
  };
  std::lock_guard s(state_mutex_);
  for (std::size_t i = 0; i < accounts->size(); ++i) {
    const auto v = accounts->value_at(i);
    if (!v.is_object()) continue;
    auto a = std::make_unique<account_state>();
    if (auto nets = v.get("nets"); nets && nets->is_object()) {
      for (std::size_t j = 0; j < nets->size() && j < options_.max_prefixes; ++j) {
        if (nets->value_at(j).is_integer()) {
          a->nets.emplace(std::string(nets->key_at(j)), nets->value_at(j).as_int());
        }
      }
    }
    if (auto seen = v.get("seen"); seen && seen->is_bool()) a->seen = seen->as_bool();
    if (same_window) {
      a->first_window = int_of(v.get("first_window"), -1);
      a->window = int_of(v.get("window"), -1);
      a->in_window =
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, int_of(v.get("in_window"), 0)));
      if (auto ws = v.get("windows"); ws && ws->is_object()) {
        for (std::size_t j = 0; j < ws->size() && j < k_max_windows; ++j) {
          std::int64_t x = 0;
          const auto k = ws->key_at(j);
          auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), x);
          if (ec == std::errc() && end == k.data() + k.size() && ws->value_at(j).is_integer()) {
            a->windows[x] =
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, ws->value_at(j).as_int()));
          }
        }
      }
    }
    accounts_[std::string(accounts->key_at(i))] = std::move(a);
  }
}

}  // namespace cairn::server

// The monitor (server/monitor/monitor.hpp): each detector fires on its
// pattern and stays quiet on normal traffic (a day of it, compressed in time
// through the injected clock); evidence names the records that raised the
// alert; auto_suspend suspends durably; the state survives a restart.
//
// The records that feed the detectors are real records of an in-memory
// store, fed to the monitor with their seq as the server does.

#include "server/monitor/monitor.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "formats/json.hpp"
#include "storage/control.hpp"
#include "storage/memory_store.hpp"
#include "support/temp_dir.hpp"

namespace cairn::server {
namespace {

using storage::audit_entry;
constexpr formats::micros k_s = 1'000'000;
constexpr formats::micros k_day = 86'400 * k_s;
constexpr formats::micros k_t0 = 1'800'000'000 * k_s;  // 2027-01-15

// The store the monitor writes to: an in-memory store, with the alert
// entries the monitor wrote kept aside for the tests to read.
class capture_store final : public storage::store {
 public:
  capture_store() : inner_(storage::memory_store::open().value()) {}

  std::vector<audit_entry> alerts() const {
    std::lock_guard l(mutex_);
    return alerts_;
  }

  result<storage::collection_key> collection(std::string_view id) override {
    return inner_->collection(id);
  }
  void publish(storage::publish_request r, audit_entry e,
               std::function<void(result<storage::publish_outcome>)> done) override {
    inner_->publish(std::move(r), std::move(e), std::move(done));
  }
  void remove(storage::delete_request r, audit_entry e,
              std::function<void(result<std::size_t>)> done) override {
    inner_->remove(std::move(r), std::move(e), std::move(done));
  }
  void record(audit_entry e, std::function<void(result<std::uint64_t>)> done) override {
    if (e.action == "alert") {
      std::lock_guard l(mutex_);
      alerts_.push_back(e);
    }
    inner_->record(std::move(e), std::move(done));
  }
  std::unique_ptr<storage::reader> begin_read() const override { return inner_->begin_read(); }
  result<storage::audit_page> audit_records(const storage::audit_query& q) const override {
    return inner_->audit_records(q);
  }
  result<std::optional<std::string>> audit_record_json(std::uint64_t seq) const override {
    return inner_->audit_record_json(seq);
  }
  result<std::uint64_t> audit_size() const override { return inner_->audit_size(); }
  result<std::vector<storage::audit_stats_point>> audit_stats(
      const storage::audit_stats_query& q) const override {
    return inner_->audit_stats(q);
  }
  void observe_commits(storage::commit_observer o) override {
    inner_->observe_commits(std::move(o));
  }
  result<std::optional<formats::audit_checkpoint>> checkpoint() const override {
    return inner_->checkpoint();
  }
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) override {
    inner_->checkpoint_now(std::move(done));
  }
  result<std::vector<formats::merkle::digest>> inclusion_proof(std::uint64_t s,
                                                               std::uint64_t n) const override {
    return inner_->inclusion_proof(s, n);
  }
  result<std::vector<formats::merkle::digest>> consistency_proof(std::uint64_t a,
                                                                 std::uint64_t b) const override {
    return inner_->consistency_proof(a, b);
  }
  result<formats::merkle::digest> audit_root(std::uint64_t n) const override {
    return inner_->audit_root(n);
  }
  const std::string& public_key_pem() const override { return inner_->public_key_pem(); }
  storage::store_stats stats() const override { return inner_->stats(); }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<storage::memory_store> inner_;
  mutable std::mutex mutex_;
  std::vector<audit_entry> alerts_;
};

class counting_sink final : public alert_sink {
 public:
  void on_alert(const alert& a) override {
    std::lock_guard l(mutex_);
    seen.push_back(a);
  }
  std::mutex mutex_;
  std::vector<alert> seen;
};

// A monitor without a thread over a capture_store, its clock in the test's
// hands; a control store in a temporary folder when asked.
struct rig {
  explicit rig(monitoring_config c = {}, std::filesystem::path control_dir = {})
      : cfg(std::move(c)), dir(std::move(control_dir)) {
    start();
  }
  ~rig() { m.reset(); }

  void start() {
    std::unique_ptr<storage::control_store> control;
    if (!dir.empty()) control = storage::open_folder_control(dir).value();
    monitor::options o;
    o.thread = false;
    o.clock = [this] { return now; };
    m = std::make_unique<monitor>(store, std::move(control), log, o);
    m->apply(cfg);
  }
  void restart() {
    m.reset();
    start();
  }

  // Appends a record and returns its seq, as the store reports it.
  std::uint64_t append(audit_entry e) {
    std::promise<result<std::uint64_t>> p;
    store.record(std::move(e), [&p](result<std::uint64_t> seq) { p.set_value(std::move(seq)); });
    return p.get_future().get().value();
  }
  std::uint64_t auth_failure(const std::string& account, const std::string& remote) {
    audit_entry e;
    e.action = "auth-failure";
    e.account = account;
    e.remote = remote;
    e.status = 401;
    const auto seq = append(e);
    m->auth_failures(remote,
                     account.empty() ? std::map<std::string, std::uint64_t>{}
                                     : std::map<std::string, std::uint64_t>{{account, 1}},
                     1, seq);
    return seq;
  }
  std::uint64_t denied(const std::string& account, const std::string& remote) {
    audit_entry e;
    e.action = "denied";
    e.account = account;
    e.remote = remote;
    e.status = 403;
    const auto seq = append(e);
    m->denied(account, remote, seq);
    return seq;
  }
  // A pull record needs a collection: one delivery of n listed objects.
  std::uint64_t pull(const std::string& account, const std::string& remote, std::uint64_t n) {
    if (key == 0) key = store.collection("root/5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11").value();
    audit_entry e;
    e.action = "pull";
    e.account = account;
    e.remote = remote;
    e.api_root = "root";
    e.collection = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
    e.status = 200;
    e.key = key;
    e.delivered.add(1, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                    "2026-01-01T00:00:00.000Z");
    const auto seq = append(e);
    m->delivered(account, remote, n, seq);
    return seq;
  }
  std::vector<audit_entry> alerts() {
    m->drain();
    return store.alerts();
  }
  std::vector<audit_entry> alerts_of(std::string_view kind) {
    std::vector<audit_entry> out;
    for (auto& a : alerts()) {
      if (a.kind == kind) out.push_back(a);
    }
    return out;
  }

  monitoring_config cfg;
  std::filesystem::path dir;
  formats::micros now = k_t0;
  capture_store store;
  std::ostringstream log_text;
  logger log{log_text};
  storage::collection_key key = 0;
  std::unique_ptr<monitor> m;
};

std::string record_action(capture_store& s, std::uint64_t seq) {
  auto json = s.audit_record_json(seq).value();
  REQUIRE(json);
  auto doc = formats::parse_json(*json).value();
  return std::string(doc.root().get("action")->as_string());
}

TEST_CASE("address_prefix: the network of an address for new-address") {
  CHECK(address_prefix("192.0.2.77", 24, 48) == "192.0.2.0/24");
  CHECK(address_prefix("192.0.2.77", 16, 48) == "192.0.0.0/16");
  CHECK(address_prefix("::ffff:192.0.2.77", 24, 48) == "192.0.2.0/24");
  CHECK(address_prefix("2001:db8:1:2:3::9", 24, 48) == "2001:db8:1::/48");
  CHECK(address_prefix("2001:db8:1:2:3::9", 24, 64) == "2001:db8:1:2::/64");
  CHECK(address_prefix("10.1.2.3", 32, 128) == "10.1.2.3/32");
  CHECK_FALSE(address_prefix("not an address", 24, 48));
  CHECK_FALSE(address_prefix("", 24, 48));
  CHECK(address_prefix("[2001:db8:1:2:3::9]", 24, 48) == "2001:db8:1::/48");
  CHECK_FALSE(address_prefix(std::string(80, '1'), 24, 48));
}

TEST_CASE("network_of: addresses of one network compare equal in binary, others differ") {
  const auto a = network_of("192.0.2.77", 24, 48);
  REQUIRE(a);
  CHECK(network_of("192.0.2.1", 24, 48) == a);
  CHECK(network_of("::ffff:192.0.2.200", 24, 48) == a);  // IPv4-mapped counts as IPv4
  CHECK(network_of("192.0.3.77", 24, 48) != a);
  CHECK(network_of("192.0.2.77", 16, 48) != a);  // another prefix length
  CHECK(network_of("2001:db8:1:2::1", 24, 48) == network_of("2001:db8:1:ffff::1", 24, 48));
  CHECK(network_of("2001:db8:1:2::1", 24, 48) != network_of("2001:db8:2:2::1", 24, 48));
  CHECK_FALSE(network_of("not an address", 24, 48));
  CHECK(network_text(*a) == "192.0.2.0/24");
  CHECK(network_text(*network_of("2001:db8:1:2:3::9", 24, 48)) == "2001:db8:1::/48");
}

TEST_CASE("auth-failure-burst: count failures within the window fire, per name and per address") {
  rig r;
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 9; ++i) {
    seqs.push_back(r.auth_failure("acme", "198.51.100.7"));
    r.now += 2 * k_s;
  }
  CHECK(r.alerts().empty());
  CHECK_FALSE(r.m->suspended("acme"));
  seqs.push_back(r.auth_failure("acme", "198.51.100.7"));
  auto alerts = r.alerts_of("auth-failure-burst");
  REQUIRE(alerts.size() == 2);
  const auto& by_name = alerts[0].account.empty() ? alerts[1] : alerts[0];
  const auto& by_address = alerts[0].account.empty() ? alerts[0] : alerts[1];
  CHECK(by_name.account == "acme");
  CHECK(by_name.remote == "198.51.100.7");
  CHECK(by_name.evidence == seqs);
  CHECK(by_name.detail.find("10 within 60 s") != std::string::npos);
  CHECK(by_address.account.empty());
  CHECK(by_address.remote == "198.51.100.7");
  CHECK(by_address.evidence == seqs);
  for (auto seq : by_name.evidence) CHECK(record_action(r.store, seq) == "auth-failure");
  // auto_suspend's default names this kind: suspended at once.
  CHECK(r.m->suspended("acme"));
  CHECK(r.log_text.str().find("\"msg\":\"account suspended\"") != std::string::npos);
  // The failures counted do not count again.
  r.auth_failure("acme", "198.51.100.7");
  CHECK(r.alerts_of("auth-failure-burst").size() == 2);
}

TEST_CASE("auth-failure-burst: a counter record counts for every failure it stands for") {
  rig r;
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(r.auth_failure("acme", "198.51.100.7"));
  // The audit limiter's counter record for the failures beyond its budget.
  audit_entry e;
  e.action = "auth-failure";
  e.remote = "198.51.100.7";
  e.status = 401;
  e.suppressed = 5;
  e.accounts = {{"acme", 5}};
  const auto counter = r.append(e);
  seqs.push_back(counter);
  r.now += 5 * k_s;
  r.m->auth_failures("198.51.100.7", {{"acme", 5}}, 5, counter);
  auto alerts = r.alerts_of("auth-failure-burst");
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].evidence == seqs);
}

TEST_CASE("auth-failure-burst: failures spread wider than the window stay quiet") {
  rig r;
  for (int i = 0; i < 40; ++i) {
    r.auth_failure("acme", "198.51.100.7");
    r.now += 7 * k_s;  // 9 per 60 s at most
  }
  CHECK(r.alerts().empty());
  CHECK_FALSE(r.m->suspended("acme"));
}

TEST_CASE("auth-failure-burst: an unknown name fires by address only, suspending nobody") {
  rig r;
  for (int i = 0; i < 10; ++i) r.auth_failure("", "2001:db8:5:6::" + std::to_string(i + 1));
  auto alerts = r.alerts_of("auth-failure-burst");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].account.empty());
  CHECK(alerts[0].remote == "2001:db8:5:6::/64");  // one subscriber's /64
  CHECK(r.m->suspended_accounts().empty());
}

TEST_CASE("denied-burst: count refusals of one account within the window fire") {
  monitoring_config c;
  c.denied_burst = {5, 30};
  rig r(c);
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 4; ++i) {
    r.denied("acme", "192.0.2.10");
    r.now += 10 * k_s;  // 4 refusals over 40 s: never 5 in 30 s
  }
  r.denied("other", "192.0.2.11");
  CHECK(r.alerts().empty());
  r.now += 60 * k_s;
  for (int i = 0; i < 5; ++i) seqs.push_back(r.denied("acme", "192.0.2.10"));
  auto alerts = r.alerts_of("denied-burst");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].account == "acme");
  CHECK(alerts[0].evidence == seqs);
  for (auto seq : seqs) CHECK(record_action(r.store, seq) == "denied");
  CHECK_FALSE(r.m->suspended("acme"));  // not in auto_suspend by default
}

TEST_CASE("new-address: a network not used within memory_days fires, the first ever does not") {
  monitoring_config c;
  c.memory_days = 30;
  rig r(c);
  r.m->authenticated("acme", "192.0.2.10");
  r.m->authenticated("acme", "192.0.2.200");  // same /24
  r.now += 2 * k_s;
  CHECK(r.alerts().empty());

  r.m->authenticated("acme", "203.0.113.5");
  const auto seq = r.denied("acme", "203.0.113.5");  // its first request's record
  r.now += 2 * k_s;
  auto alerts = r.alerts_of("new-address");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].account == "acme");
  CHECK(alerts[0].remote == "203.0.113.5");
  CHECK(alerts[0].detail.find("203.0.113.0/24") != std::string::npos);
  CHECK(alerts[0].evidence == std::vector<std::uint64_t>{seq});
  CHECK_FALSE(r.m->suspended("acme"));

  // A known network used again within 30 days: quiet.
  r.now += 20 * k_day;
  r.m->authenticated("acme", "203.0.113.6");
  r.now += 2 * k_s;
  CHECK(r.alerts_of("new-address").size() == 1);
  // Unused for more than 30 days: new again.
  r.now += 25 * k_day;
  r.m->authenticated("acme", "203.0.113.6");  // used 25 days ago: known
  r.m->authenticated("acme", "192.0.2.10");   // used 45 days ago
  r.now += 2 * k_s;
  alerts = r.alerts_of("new-address");
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[1].detail.find("192.0.2.0/24") != std::string::npos);

  // IPv6 by /48.
  r.m->authenticated("acme", "2001:db8:1:1::1");
  r.m->authenticated("acme", "2001:db8:1:ffff::2");
  r.now += 2 * k_s;
  alerts = r.alerts_of("new-address");
  REQUIRE(alerts.size() == 3);
  CHECK(alerts[2].detail.find("2001:db8:1::/48") != std::string::npos);
}

TEST_CASE("volume: no history is a baseline of 0, so min_objects in a window fires") {
  monitoring_config c;
  c.volume_min_objects = 1000;
  rig r(c);
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 9; ++i) seqs.push_back(r.pull("acme", "192.0.2.10", 100));
  CHECK(r.alerts().empty());
  seqs.push_back(r.pull("acme", "192.0.2.10", 100));
  auto alerts = r.alerts_of("volume");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].account == "acme");
  CHECK(alerts[0].evidence == seqs);
  for (auto seq : seqs) CHECK(record_action(r.store, seq) == "pull");
  // Once per window.
  r.pull("acme", "192.0.2.10", 5000);
  CHECK(r.alerts_of("volume").size() == 1);
}

TEST_CASE("volume: judged against the account's own baseline over baseline_days") {
  monitoring_config c;
  c.volume_min_objects = 1000;
  c.volume_factor = 10;
  c.volume_window_s = 3600;
  c.volume_baseline_days = 7;
  rig r(c);
  // A week of 500 objects an hour: no alert after the first window...
  r.pull("acme", "192.0.2.10", 500);
  for (int h = 1; h < 7 * 24; ++h) {
    r.now += 3600 * k_s;
    r.pull("acme", "192.0.2.10", 500);
  }
  CHECK(r.alerts().empty());
  // ...4,900 in one hour is under 10 x 500: quiet.
  r.now += 3600 * k_s;
  for (int i = 0; i < 49; ++i) r.pull("acme", "192.0.2.10", 100);
  CHECK(r.alerts().empty());
  // The next hour's baseline: (167 x 500 + 4,900) / 168 = 526.2 a window;
  // the alert comes with the pull that takes it past 5,262.
  r.now += 3600 * k_s;
  for (int i = 0; i < 60; ++i) r.pull("acme", "192.0.2.10", 100);
  auto alerts = r.alerts_of("volume");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].evidence.size() == 53);
  CHECK(alerts[0].detail.find("received 5300 objects") != std::string::npos);
  CHECK(alerts[0].detail.find("its usual is 526 per window") != std::string::npos);
}

TEST_CASE("suspended-use: at most one alert per account per window") {
  rig r;
  audit_entry e;
  e.action = "denied";
  e.account = "acme";
  e.remote = "192.0.2.1";
  e.status = 403;
  const auto first = r.append(e);
  r.m->suspended_use("acme", "192.0.2.1", first);
  for (int i = 0; i < 20; ++i) {
    r.now += k_s;
    r.m->suspended_use("acme", "192.0.2.1", 1000 + static_cast<std::uint64_t>(i));
  }
  auto alerts = r.alerts_of("suspended-use");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].account == "acme");
  CHECK(alerts[0].evidence == std::vector<std::uint64_t>{first});
  r.now += 60 * k_s;
  r.m->suspended_use("acme", "192.0.2.1", 2000);
  CHECK(r.alerts_of("suspended-use").size() == 2);
}

TEST_CASE("monitoring disabled: nothing is judged") {
  monitoring_config c;
  c.enabled = false;
  rig r(c);
  for (int i = 0; i < 30; ++i) r.auth_failure("acme", "198.51.100.7");
  CHECK(r.alerts().empty());
  CHECK_FALSE(r.m->suspended("acme"));
}

// A day of an ordinary exchange, compressed: partners pulling every few
// minutes from their own networks, now and then a mistyped password or a
// refused request, an auditor, a publisher. With the default rules, not one
// alert.
TEST_CASE("a day of normal traffic raises no alert") {
  rig r;
  std::mt19937 rng(12);
  struct partner {
    std::string name;
    std::vector<std::string> addresses;
  };
  std::vector<partner> partners = {
      {"acme", {"192.0.2.10", "192.0.2.11"}},
      {"globex", {"198.51.100.20"}},
      {"initech", {"2001:db8:10:1::5", "2001:db8:10:2::7"}},
      {"umbrella", {"203.0.113.40"}},
      {"auditor", {"192.0.2.99"}},
  };
  // Each partner's first day: their usual networks are learnt.
  for (const auto& p : partners) {
    for (const auto& a : p.addresses) r.m->authenticated(p.name, a);
  }
  r.now += k_day;
  int requests = 0;
  for (formats::micros t = 0; t < k_day; t += 60 * k_s) {  // a minute at a time
    r.now += 60 * k_s;
    for (const auto& p : partners) {
      const auto& addr = p.addresses[rng() % p.addresses.size()];
      if (rng() % 5 != 0) continue;  // a request every ~5 minutes
      ++requests;
      r.m->authenticated(p.name, addr);
      r.pull(p.name, addr, 50 + rng() % 400);
      if (rng() % 60 == 0) r.auth_failure(p.name, addr);  // a typo now and then
      if (rng() % 40 == 0) r.denied(p.name, addr);        // a collection it may not write
    }
  }
  CHECK(requests > 1000);
  CHECK(r.alerts().empty());
}

TEST_CASE("alerts reach the sinks and the log after their record, with its seq") {
  rig r;
  auto sink = std::make_shared<counting_sink>();
  r.m->add_sink(sink);
  for (int i = 0; i < 20; ++i) r.denied("acme", "192.0.2.10");
  auto alerts = r.alerts_of("denied-burst");
  REQUIRE(alerts.size() == 1);
  std::lock_guard l(sink->mutex_);
  REQUIRE(sink->seen.size() == 1);
  const alert& a = sink->seen[0];
  CHECK(a.kind == "denied-burst");
  CHECK(a.account == "acme");
  CHECK(a.evidence == alerts[0].evidence);
  REQUIRE(a.seq > 0);
  // The seq is the alert record's.
  auto json = r.store.audit_record_json(a.seq).value();
  REQUIRE(json);
  auto doc = formats::parse_json(*json).value();
  CHECK(doc.root().get("action")->as_string() == "alert");
  CHECK(doc.root().get("time")->as_string() == a.time);
  const std::string log = r.log_text.str();
  CHECK(log.find("\"level\":\"warn\",\"msg\":\"alert\"") != std::string::npos);
  CHECK(log.find("\"kind\":\"denied-burst\"") != std::string::npos);
}

TEST_CASE("auto_suspend is durable: a restart keeps it until the control store resumes it") {
  testing::temp_dir dir("cairn-monitor");
  monitoring_config c;
  c.auto_suspend = {"denied-burst"};
  rig r(c, dir.path());
  for (int i = 0; i < 20; ++i) r.denied("acme", "192.0.2.10");
  r.alerts();
  CHECK(r.m->suspended("acme"));
  auto control = storage::open_folder_control(dir.path()).value();
  auto list = control->suspensions().value();
  REQUIRE(list.size() == 1);
  CHECK(list[0].account == "acme");
  CHECK(list[0].kind == "denied-burst");
  CHECK(list[0].since == r.now);

  r.restart();
  CHECK(r.m->suspended("acme"));
  CHECK_FALSE(r.m->suspended("other"));
  // `cairnd account resume` from another process; the monitor rereads.
  REQUIRE(control->resume("acme").value());
  r.m->reload();
  CHECK_FALSE(r.m->suspended("acme"));
  CHECK(r.log_text.str().find("\"msg\":\"account resumed\",\"account\":\"acme\"") !=
        std::string::npos);
}

TEST_CASE("known networks and volume history survive a restart through the control store") {
  testing::temp_dir dir("cairn-monitor");
  monitoring_config c;
  c.volume_min_objects = 1000;
  rig r(c, dir.path());
  r.m->authenticated("acme", "192.0.2.10");
  r.pull("acme", "192.0.2.10", 800);  // history: 800 in one window
  r.now += 3600 * k_s;
  r.pull("acme", "192.0.2.10", 10);
  r.alerts();
  r.restart();
  // The known network is still known, and the first-network rule is not
  // applied again: a new one fires.
  r.now += k_s;
  r.m->authenticated("acme", "192.0.2.50");
  r.now += 2 * k_s;
  CHECK(r.alerts().empty());
  r.m->authenticated("acme", "203.0.113.9");
  r.now += 2 * k_s;
  CHECK(r.alerts_of("new-address").size() == 1);
  // The baseline (800 per window) came back: 1,500 is under 10 x 800.
  r.now += 3600 * k_s;
  r.pull("acme", "192.0.2.10", 1500);
  CHECK(r.alerts_of("volume").empty());
}

}  // namespace
}  // namespace cairn::server

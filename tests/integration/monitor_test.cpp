// Monitoring against the real cairnd: an auth-failure burst raises an alert
// record whose evidence is the failures' records, and suspends the account
// (auto_suspend's default); its valid credentials then get 403 "account
// suspended", audited as denied, with one suspended-use alert; the
// suspension survives SIGHUP and a restart, and `cairnd account resume`,
// run while cairnd runs, lifts it. `suspended: true` in the config applies
// at SIGHUP.

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const std::string k_reader_token = "cairn_test_token_reader_0123456789abcdef012345";

clients::http_response get(const test_server& srv, const std::string& account,
                           const std::string& target, const std::string& password = {},
                           const std::string& token = {}) {
  auto o = srv.options(account);
  if (!password.empty()) {
    o.user = account;
    o.password = password;
    o.token.clear();  // Basic, whatever else the account has
  }
  if (!token.empty()) o.token = token;
  auto c = clients::taxii_client::make(o);
  REQUIRE(c);
  auto r = c->request("GET", target, {{"Accept", "application/taxii+json;version=2.1"}});
  REQUIRE(r);
  return std::move(*r);
}

// Every audit record, by seq (the auditor's view; the logs here are small).
std::map<std::uint64_t, std::string> all_records(const test_server& srv) {
  std::map<std::uint64_t, std::string> out;
  std::string next;
  for (int page = 0; page < 100; ++page) {
    auto r =
        get(srv, "auditor", "/cairn/v1/audit?limit=1000" + (next.empty() ? "" : "&next=" + next));
    REQUIRE(r.status == 200);
    auto doc = formats::parse_json(r.body).value();
    const auto records = *doc.root().get("records");
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto rec = records.value_at(i);
      out[static_cast<std::uint64_t>(rec.get("seq")->as_int())] = rec.dump();
    }
    if (!doc.root().get("more")->as_bool()) break;
    next = std::string(doc.root().get("next")->as_string());
  }
  return out;
}

struct alert_view {
  std::uint64_t seq = 0;
  std::string kind, account, remote;
  std::vector<std::uint64_t> evidence;
};

std::vector<alert_view> alerts_in(const std::map<std::uint64_t, std::string>& records) {
  std::vector<alert_view> out;
  for (const auto& [seq, json] : records) {
    auto doc = formats::parse_json(json).value();
    if (doc.root().get("action")->as_string() != "alert") continue;
    alert_view a;
    a.seq = seq;
    a.kind = doc.root().get("kind")->as_string();
    a.account = doc.root().get("account")->as_string();
    a.remote = doc.root().get("remote")->as_string();
    const auto ev = *doc.root().get("evidence");
    for (std::size_t i = 0; i < ev.size(); ++i) {
      a.evidence.push_back(static_cast<std::uint64_t>(ev.value_at(i).as_int()));
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::string field(const std::string& json, const char* key) {
  auto doc = formats::parse_json(json).value();
  auto v = doc.root().get(key);
  if (!v) return {};
  return v->is_string() ? std::string(v->as_string()) : v->dump();
}

void check_suspended(const clients::http_response& r) {
  CHECK(r.status == 403);
  CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto d = formats::parse_json(r.body);
  REQUIRE(d);
  CHECK(d->root().get("http_status")->as_string() == "403");
  CHECK(std::string(d->root().get("description")->as_string()).find("account suspended") !=
        std::string::npos);
}

// Polls until the account is served again (the running cairnd rereads the
// control store about once a second).
bool served_within(const test_server& srv, const std::string& account, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (get(srv, account, "/taxii2/").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

TEST_CASE("monitor: an auth-failure burst alerts, suspends, and is answered by account resume") {
  // reader has a token too: its password attempts are throttled for a while
  // after the burst (and a reload empties the credential cache), its token
  // never is.
  auto setup = default_setup();
  for (auto& a : setup.accounts) {
    if (a.name == "reader") a.token = k_reader_token;
  }
  test_server srv(setup);
  REQUIRE(get(srv, "reader", "/taxii2/", "reader-password").status == 200);
  const auto from = srv.log_text().size();
  // Ten wrong passwords for reader within the minute (the throttle answers
  // the last ones 429; each is a failed authentication all the same).
  for (int i = 0; i < 10; ++i) {
    const auto r = get(srv, "reader", "/taxii2/", "wrong-password-" + std::to_string(i));
    CHECK((r.status == 401 || r.status == 429));
  }
  // The failures beyond the audit budget reach the log as a counter record
  // within its flush interval (5 s).
  REQUIRE(srv.wait_for_log("\"msg\":\"account suspended\",\"account\":\"reader\"", from, 20000));
  CHECK(srv.wait_for_log("\"level\":\"warn\",\"msg\":\"alert\",\"kind\":\"auth-failure-burst\"",
                         from, 1000));

  // Valid credentials, every path, Basic and Bearer: 403 account suspended.
  check_suspended(get(srv, "reader", "/taxii2/", "reader-password"));
  check_suspended(get(srv, "reader", std::string("/api1/collections/") + k_intel + "/objects/",
                      "reader-password"));
  check_suspended(get(srv, "reader", "/cairn/v1/audit", {}, k_reader_token));
  // Others are served.
  CHECK(get(srv, "admin", "/taxii2/").status == 200);
  // Wrong credentials stay 401/429: a suspension reveals nothing to them.
  CHECK(get(srv, "reader", "/taxii2/", "still-wrong").status != 403);

  REQUIRE(srv.wait_for_log("\"kind\":\"suspended-use\"", from, 5000));
  auto records = all_records(srv);
  auto alerts = alerts_in(records);
  std::vector<alert_view> burst_by_name, suspended_use;
  for (const auto& a : alerts) {
    if (a.kind == "auth-failure-burst" && a.account == "reader") burst_by_name.push_back(a);
    if (a.kind == "suspended-use") suspended_use.push_back(a);
  }
  REQUIRE(burst_by_name.size() == 1);
  CHECK(burst_by_name[0].remote == "127.0.0.1");
  // Evidence: the failures' records (single ones and the counter record),
  // standing for ten failures of reader in all.
  REQUIRE_FALSE(burst_by_name[0].evidence.empty());
  std::uint64_t failures = 0;
  for (auto seq : burst_by_name[0].evidence) {
    REQUIRE(records.contains(seq));
    CHECK(field(records[seq], "action") == "auth-failure");
    CHECK(seq < burst_by_name[0].seq);
    const auto accounts = field(records[seq], "accounts");
    if (field(records[seq], "account") == "reader") {
      failures += 1;
    } else if (!accounts.empty()) {
      auto doc = formats::parse_json(accounts).value();
      if (auto n = doc.root().get("reader")) failures += static_cast<std::uint64_t>(n->as_int());
    }
  }
  CHECK(failures >= 10);
  // One suspended-use alert for the three refused requests, its evidence the
  // first refusal's denied record.
  REQUIRE(suspended_use.size() == 1);
  CHECK(suspended_use[0].account == "reader");
  REQUIRE(suspended_use[0].evidence.size() == 1);
  const auto& refusal = records[suspended_use[0].evidence[0]];
  CHECK(field(refusal, "action") == "denied");
  CHECK(field(refusal, "account") == "reader");
  CHECK(field(refusal, "status") == "403");

  // SIGHUP and a restart keep the suspension.
  const auto before_reload = srv.log_text().size();
  srv.reload(srv.setup());
  REQUIRE(srv.wait_for_log("config loaded", before_reload, 10000));
  check_suspended(get(srv, "reader", "/taxii2/", {}, k_reader_token));
  srv.restart();
  check_suspended(get(srv, "reader", "/taxii2/", "reader-password"));
  check_suspended(get(srv, "reader", "/taxii2/", {}, k_reader_token));

  auto listed = srv.run_cairnd({"account", "suspensions", "--config", srv.config_path().string()});
  CHECK(listed.exit_code == 0);
  CHECK(listed.output.find("reader  auth-failure-burst  alert " +
                           std::to_string(burst_by_name[0].seq)) != std::string::npos);

  // The operator answers while cairnd runs.
  const auto before_resume = srv.log_text().size();
  auto resumed =
      srv.run_cairnd({"account", "resume", "reader", "--config", srv.config_path().string()});
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.output.find("account reader resumed") != std::string::npos);
  CHECK(served_within(srv, "reader", 5000));
  CHECK(
      srv.wait_for_log("\"msg\":\"account resumed\",\"account\":\"reader\"", before_resume, 2000));
  // Resuming again says so.
  auto again =
      srv.run_cairnd({"account", "resume", "reader", "--config", srv.config_path().string()});
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("was not suspended") != std::string::npos);
  // A restart keeps it lifted.
  srv.restart();
  CHECK(get(srv, "reader", "/taxii2/", "reader-password").status == 200);
}

TEST_CASE("monitor: suspended true in the config applies at SIGHUP, on Basic and Bearer alike") {
  test_server srv;
  REQUIRE(get(srv, "bot", "/taxii2/").status == 200);
  auto setup = srv.setup();
  for (auto& a : setup.accounts) {
    if (a.name == "bot" || a.name == "reader") a.suspended = true;
  }
  const auto from = srv.log_text().size();
  srv.reload(setup);
  REQUIRE(srv.wait_for_log("config loaded", from, 10000));
  check_suspended(get(srv, "bot", "/taxii2/"));  // Bearer token
  check_suspended(get(srv, "reader", "/taxii2/"));
  CHECK(get(srv, "admin", "/taxii2/").status == 200);
  // `account resume` cannot lift what the config says, and says so.
  auto r = srv.run_cairnd({"account", "resume", "bot", "--config", srv.config_path().string()});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("still suspended by the config file") != std::string::npos);
  check_suspended(get(srv, "bot", "/taxii2/"));

  for (auto& a : setup.accounts) a.suspended = false;
  const auto again = srv.log_text().size();
  srv.reload(setup);
  REQUIRE(srv.wait_for_log("config loaded", again, 10000));
  CHECK(get(srv, "bot", "/taxii2/").status == 200);
  CHECK(get(srv, "reader", "/taxii2/").status == 200);
}

TEST_CASE("monitor: enabled false raises nothing and suspends nobody") {
  auto setup = default_setup();
  setup.extra_json = R"(,"monitoring": {"enabled": false})";
  test_server srv(setup);
  for (int i = 0; i < 12; ++i) get(srv, "reader", "/taxii2/", "wrong-" + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(6500));  // past the counter flush
  CHECK(srv.log_text().find("\"msg\":\"alert\"") == std::string::npos);
  // The name's throttle may still hold reader's password attempts back
  // (429); a token account is never throttled, and nobody is suspended.
  const auto r = get(srv, "reader", "/taxii2/");
  CHECK(r.status != 403);
}

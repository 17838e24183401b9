// The abuse limits of server/auth/throttle.hpp: token buckets driven with explicit
// times, the KDF budget of password guessing counted exactly with
// scrypt_evaluations(), and the router wiring (429, Retry-After, a TAXII
// error body) with requests from several remote addresses.
#include "server/auth/throttle.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <sstream>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "server/api/exchange.hpp"
#include "server/api/router.hpp"
#include "server/transport/address.hpp"
#include "test_support.hpp"

using namespace cairn::server;
using cairn::formats::base64_encode;
using namespace std::chrono_literals;

namespace {

const std::string k_col = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_token = "cairn_bot_token_0123456789abcdef0123456789";

std::string config_text(const std::string& data_dir, const std::string& limits) {
  const auto hash = [](const std::string& pw) { return test::password_hash(pw); };
  return R"({"listen": "127.0.0.1:0", "data_dir": ")" + data_dir + R"(",
    "tls": {"cert": "c", "key": "k"},
    "limits": {)" +
         limits + R"(},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [{"id": ")" +
         k_col + R"(", "title": "c", "alias": "c"}]}},
    "accounts": [
      {"name": "alice", "password_hash": ")" +
         hash("alice-pw") + R"(", "read": ["*"], "clearance": "green"},
      {"name": "bob", "password_hash": ")" +
         hash("bob-pw") + R"(", "read": ["*"], "clearance": "green"},
      {"name": "bot", "token_hashes": [")" +
         token_hash(k_token) + R"("], "read": ["*"]}
    ]})";
}

config parse(const std::string& text) {
  auto cfg = parse_config(text, "/");
  if (!cfg) {
    for (const auto& p : cfg.error()) FAIL(p.to_string());
  }
  return std::move(*cfg);
}

limits_config limits(std::uint32_t burst, std::uint32_t per_address, std::uint32_t per_minute) {
  limits_config l;
  l.auth_failure_burst = burst;
  l.auth_failure_burst_per_address = per_address;
  l.auth_failures_per_minute = per_minute;
  return l;
}

std::string basic(std::string_view user, std::string_view password) {
  return "Basic " + base64_encode(std::string(user) + ":" + std::string(password));
}

// A router over a real exchange in a temporary folder.
struct server_fixture {
  test::temp_dir dir;
  std::ostringstream log_stream;
  logger log{log_stream};
  std::unique_ptr<exchange> ex;
  std::unique_ptr<router> r;

  explicit server_fixture(const std::string& limits_json) {
    auto opened = exchange::open(parse(config_text((dir / "data").string(), limits_json)), log);
    REQUIRE(opened);
    ex = std::move(*opened);
    r = std::make_unique<router>(*ex);
  }

  response get(const std::string& target, const std::string& authorization,
               const std::string& address) {
    request req{http::verb::get, target, 11};
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    std::optional<response> out;
    r->handle(std::move(req), peer_info{address, {}}, [&](response res) { out = std::move(res); });
    REQUIRE(out);
    return std::move(*out);
  }
};

void check_throttled(const response& res) {
  CHECK(res.result() == http::status::too_many_requests);
  const auto retry = res[http::field::retry_after];
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoi(std::string(retry)) >= 1);
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  CHECK(doc->root().get("http_status")->as_string() == "429");
  CHECK(std::string(res[http::field::content_type]) == "application/taxii+json;version=2.1");
}

}  // namespace

TEST_CASE("failure buckets: a burst, then refusal with Retry-After, then refill") {
  throttle t;
  const auto l = limits(3, 100, 6);  // one token per 10 s
  const auto t0 = throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(t.begin_password_check("alice", "10.0.0.1", l, t0).allowed);
    t.end_password_check("alice", "10.0.0.1", false, l, t0);
  }
  auto refused = t.begin_password_check("alice", "10.0.0.1", l, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 10s);
  // Another address does not help: the name is locked.
  CHECK_FALSE(t.begin_password_check("alice", "10.0.0.2", l, t0).allowed);
  // Another name from the same address is not affected.
  CHECK(t.begin_password_check("bob", "10.0.0.1", l, t0).allowed);
  // Partly refilled: the wait shrinks, then a token is back.
  CHECK(t.begin_password_check("alice", "10.0.0.1", l, t0 + 4s).retry_after == 6s);
  CHECK(t.begin_password_check("alice", "10.0.0.1", l, t0 + 10s).allowed);
  CHECK_FALSE(t.begin_password_check("alice", "10.0.0.1", l, t0 + 10s).allowed);
  // Never more than the burst, however long the pause.
  const auto later = t0 + 24h;
  for (int i = 0; i < 3; ++i) CHECK(t.begin_password_check("alice", "x", l, later).allowed);
  CHECK_FALSE(t.begin_password_check("alice", "x", l, later).allowed);
}

TEST_CASE("a successful password check gives its tokens back") {
  throttle t;
  const auto l = limits(2, 2, 1);
  const auto t0 = throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(t.begin_password_check("alice", "10.0.0.1", l, t0).allowed);
    t.end_password_check("alice", "10.0.0.1", true, l, t0);
  }
  REQUIRE(t.begin_password_check("alice", "10.0.0.1", l, t0).allowed);
  t.end_password_check("alice", "10.0.0.1", false, l, t0);
  REQUIRE(t.begin_password_check("alice", "10.0.0.1", l, t0).allowed);
  t.end_password_check("alice", "10.0.0.1", false, l, t0);
  CHECK_FALSE(t.begin_password_check("alice", "10.0.0.1", l, t0).allowed);
}

TEST_CASE("spraying names from one address stops at the address burst") {
  throttle t;
  const auto l = limits(10, 5, 6);
  const auto t0 = throttle::clock::time_point{} + 1000s;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    if (t.begin_password_check("name" + std::to_string(i), "10.6.6.6", l, t0).allowed) ++allowed;
  }
  CHECK(allowed == 5);
  // Refused attempts took nothing: the name buckets of refused names are full.
  CHECK(t.begin_password_check("name99", "10.0.0.9", l, t0).allowed);
  // Cheap failures (tokens, certificates) count against the address too.
  CHECK_FALSE(t.record_cheap_failure("10.6.6.6", l, t0).allowed);
  for (int i = 0; i < 5; ++i) CHECK(t.record_cheap_failure("10.0.0.7", l, t0).allowed);
  CHECK_FALSE(t.record_cheap_failure("10.0.0.7", l, t0).allowed);
}

TEST_CASE("a lowered burst applies at once") {
  throttle t;
  const auto t0 = throttle::clock::time_point{} + 1000s;
  REQUIRE(t.begin_password_check("alice", "a", limits(10, 10, 6), t0).allowed);
  const auto strict = limits(1, 10, 6);
  CHECK(t.begin_password_check("alice", "a", strict, t0).allowed);
  CHECK_FALSE(t.begin_password_check("alice", "a", strict, t0).allowed);
}

TEST_CASE("the tables are bounded and fail closed when full of drained buckets") {
  throttle t(4);
  const auto l = limits(2, 1000, 6);
  const auto t0 = throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(t.begin_password_check("n" + std::to_string(i), "a", l, t0).allowed);
  }
  CHECK(t.tracked_names() == 4);
  // Full of partly drained buckets: a new name is refused, no KDF.
  CHECK_FALSE(t.begin_password_check("fresh", "a", l, t0).allowed);
  // Once the buckets have refilled they are dropped to make room.
  CHECK(t.begin_password_check("fresh", "a", l, t0 + 60s).allowed);
  CHECK(t.tracked_names() <= 4);
}

// Before: every IPv6 address had its own bucket, so a client rotating through
// the addresses of its /64 was never throttled (and filled the table); and
// ::ffff:192.0.2.7 had a bucket apart from 192.0.2.7.
TEST_CASE("IPv6 addresses count by their /64, IPv4-mapped ones as the IPv4 address") {
  throttle t;
  const auto l = limits(1000, 3, 6);
  const auto t0 = throttle::clock::time_point{} + 1000s;
  for (const char* a : {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"}) {
    REQUIRE(t.begin_password_check("n", a, l, t0).allowed);
  }
  CHECK_FALSE(t.begin_password_check("n", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", l, t0).allowed);
  CHECK_FALSE(t.record_cheap_failure("2001:0DB8:0001:0002::9", l, t0).allowed);
  // The next /64 is another network.
  CHECK(t.begin_password_check("n", "2001:db8:1:3::1", l, t0).allowed);
  CHECK(t.tracked_addresses() == 2);

  for (int i = 0; i < 3; ++i) REQUIRE(t.record_cheap_failure("192.0.2.7", l, t0).allowed);
  CHECK_FALSE(t.record_cheap_failure("::ffff:192.0.2.7", l, t0).allowed);
  CHECK(t.record_cheap_failure("192.0.2.8", l, t0).allowed);
  // A success from another spelling gives the token back to the same bucket.
  t.end_password_check("n", "::ffff:192.0.2.7", true, l, t0);
  CHECK(t.record_cheap_failure("192.0.2.7", l, t0).allowed);
}

TEST_CASE("the key under which limits count an address") {
  CHECK(address_key("192.0.2.7") == "192.0.2.7");
  CHECK(address_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
  CHECK(address_key("2001:DB8:1:2::") == "2001:db8:1:2::/64");
  CHECK(address_key("::1") == "::/64");
  // Not an address (tests, unix sockets): the text itself.
  CHECK(address_key("a") == "a");
  CHECK(address_key("") == "");
}

// Before: a new address was refused outright (429) while the table was full
// of partly drained buckets, so whoever filled the table (with many
// addresses) locked every newcomer out of password logins.
TEST_CASE("a full address table: newcomers share one strict overflow bucket") {
  throttle t(2);
  const auto l = limits(1000, 2, 6);
  const auto t0 = throttle::clock::time_point{} + 1000s;
  REQUIRE(t.begin_password_check("n", "10.0.0.1", l, t0).allowed);
  REQUIRE(t.begin_password_check("n", "10.0.0.2", l, t0).allowed);
  CHECK(t.tracked_addresses() == 2);
  // Addresses beyond the table share one bucket of the per-address burst.
  CHECK(t.begin_password_check("n", "10.0.0.3", l, t0).allowed);
  CHECK(t.record_cheap_failure("2001:db8::1", l, t0).allowed);
  auto refused = t.begin_password_check("n", "10.0.0.5", l, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 10s);
  CHECK_FALSE(t.record_cheap_failure("10.0.0.6", l, t0).allowed);
  // The tracked buckets were neither evicted nor refilled by any of this.
  CHECK(t.tracked_addresses() == 2);
  CHECK(t.begin_password_check("n", "10.0.0.1", l, t0).allowed);
  CHECK_FALSE(t.begin_password_check("n", "10.0.0.1", l, t0).allowed);
  // Once a tracked bucket has refilled it makes room again.
  CHECK(t.begin_password_check("n", "10.0.0.7", l, t0 + 10s).allowed);
  CHECK(t.tracked_addresses() == 2);
}

TEST_CASE("request rate per account: burst, 429 wait, refill, 0 turns it off") {
  throttle t;
  limits_config l;
  l.requests_per_second = 2;
  l.request_burst = 4;
  const auto t0 = throttle::clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) CHECK(t.admit_request("alice", l, t0).allowed);
  auto refused = t.admit_request("alice", l, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 1s);
  CHECK(t.admit_request("bob", l, t0).allowed);
  CHECK(t.admit_request("alice", l, t0 + 500ms).allowed);
  CHECK_FALSE(t.admit_request("alice", l, t0 + 500ms).allowed);
  l.requests_per_second = 0;
  for (int i = 0; i < 1000; ++i) REQUIRE(t.admit_request("alice", l, t0).allowed);
}

TEST_CASE("1,000 wrong passwords cost at most the burst in KDF runs") {
  const auto cfg = parse(config_text("/nonexistent", ""));
  account_table accounts(cfg);
  throttle t;
  const auto l = limits(10, 30, 1);
  // alice logged in before the attack (her password is in the cache).
  REQUIRE(t.authenticate_basic(accounts, "alice", "alice-pw", "10.0.0.2", l).who);

  const auto before = scrypt_evaluations();
  int wrong = 0;
  int throttled = 0;
  for (int i = 0; i < 1000; ++i) {
    auto out = t.authenticate_basic(accounts, "alice", "guess" + std::to_string(i), "10.6.6.6", l);
    REQUIRE_FALSE(out.who);
    if (out.retry_after) {
      ++throttled;
      CHECK(*out.retry_after >= 1s);
    } else {
      ++wrong;
    }
  }
  const auto kdf_runs = scrypt_evaluations() - before;
  CHECK(wrong == 10);
  CHECK(throttled == 990);
  CHECK(kdf_runs == 10);

  // alice's cached session goes on without a KDF ...
  const auto mid = scrypt_evaluations();
  CHECK(t.authenticate_basic(accounts, "alice", "alice-pw", "10.0.0.2", l).who);
  CHECK(scrypt_evaluations() == mid);
  // ... but an uncached right password for the locked name is refused, with
  // no KDF either.
  accounts.cache().clear();
  CHECK(t.authenticate_basic(accounts, "alice", "alice-pw", "10.0.0.3", l).retry_after);
  CHECK(scrypt_evaluations() == mid);
  // Other accounts go on, even from the attacker's own address, and tokens.
  CHECK(t.authenticate_basic(accounts, "bob", "bob-pw", "10.6.6.6", l).who);
  CHECK(scrypt_evaluations() == mid + 1);
  CHECK(t.authenticate_bearer(accounts, k_token, "10.6.6.6", l).who);
  // An unknown name is throttled exactly like a known one.
  int unknown_wrong = 0;
  for (int i = 0; i < 30; ++i) {
    auto out = t.authenticate_basic(accounts, "mallory", "x", "10.0.0.4", l);
    if (!out.retry_after) ++unknown_wrong;
  }
  CHECK(unknown_wrong == 10);
}

TEST_CASE("the router answers throttled attempts with 429 and runs no KDF for them") {
  server_fixture s(R"("auth_failure_burst": 5, "auth_failure_burst_per_address": 8,
                      "auth_failures_per_minute": 1)");
  const auto before = scrypt_evaluations();
  int unauthorized = 0;
  for (int i = 0; i < 200; ++i) {
    auto res = s.get("/taxii2/", basic("alice", "nope" + std::to_string(i)), "192.0.2.1");
    if (res.result() == http::status::unauthorized) {
      ++unauthorized;
      CHECK(std::string(res[http::field::www_authenticate]) == "Basic realm=\"cairn\"");
    } else {
      check_throttled(res);
    }
  }
  CHECK(unauthorized == 5);
  CHECK(scrypt_evaluations() - before == 5);

  // Another name from the same address: 3 tokens of the address are left.
  CHECK(s.get("/taxii2/", basic("bob", "bob-pw"), "192.0.2.1").result() == http::status::ok);
  // Another address, another name: untouched.
  CHECK(s.get("/taxii2/", basic("bob", "wrong"), "198.51.100.9").result() ==
        http::status::unauthorized);
  // Spraying names exhausts the address; a good token still works from there.
  for (int i = 0; i < 10; ++i) s.get("/taxii2/", basic("n" + std::to_string(i), "x"), "192.0.2.1");
  check_throttled(s.get("/taxii2/", basic("bob", "bob-pw-wrong"), "192.0.2.1"));
  CHECK(s.get("/taxii2/", "Bearer " + k_token, "192.0.2.1").result() == http::status::ok);
  // A bad token from the exhausted address: 429, not 401; from elsewhere: 401.
  check_throttled(s.get("/taxii2/", "Bearer cairn_wrong", "192.0.2.1"));
  CHECK(s.get("/taxii2/", "Bearer cairn_wrong", "198.51.100.9").result() ==
        http::status::unauthorized);
  // A malformed header counts as a failure too.
  check_throttled(s.get("/taxii2/", "Basic !!!", "192.0.2.1"));
  // No credentials at all is not a failed attempt: 401, whatever the address.
  CHECK(s.get("/taxii2/", "", "192.0.2.1").result() == http::status::unauthorized);
}

TEST_CASE("the router limits requests per account and says when to retry") {
  server_fixture s(R"("requests_per_second": 1, "request_burst": 3)");
  for (int i = 0; i < 3; ++i) {
    CHECK(s.get("/taxii2/", "Bearer " + k_token, "192.0.2.1").result() == http::status::ok);
  }
  auto res = s.get("/taxii2/", "Bearer " + k_token, "192.0.2.1");
  check_throttled(res);
  CHECK(res.body().find("request rate") != std::string::npos);
  // Another account is not slowed down, nor is the health check.
  CHECK(s.get("/taxii2/", basic("bob", "bob-pw"), "192.0.2.1").result() == http::status::ok);
  CHECK(s.get("/cairn/v1/health", "", "192.0.2.1").result() == http::status::ok);
}

TEST_CASE("the abuse limits are optional config keys with defaults and bounds") {
  const auto defaults = parse(config_text("/d", "")).limits;
  CHECK(defaults.requests_per_second == 2000);
  CHECK(defaults.request_burst == 10000);
  CHECK(defaults.auth_failures_per_minute == 6);
  CHECK(defaults.auth_failure_burst == 10);
  CHECK(defaults.auth_failure_burst_per_address == 50);
  const auto set = parse(config_text("/d", R"("requests_per_second": 0, "request_burst": 9,
      "auth_failures_per_minute": 2, "auth_failure_burst": 3,
      "auth_failure_burst_per_address": 4)"))
                       .limits;
  CHECK(set.requests_per_second == 0);
  CHECK(set.request_burst == 9);
  CHECK(set.auth_failures_per_minute == 2);
  CHECK(set.auth_failure_burst == 3);
  CHECK(set.auth_failure_burst_per_address == 4);
  for (const std::string bad : {R"("auth_failures_per_minute": 0)", R"("auth_failure_burst": 0)",
                                R"("request_burst": 0)", R"("auth_failure_burst_per_address": -1)",
                                R"("requests_per_second": "10")", R"("auth_failure_bursts": 5)"}) {
    INFO(bad);
    CHECK_FALSE(parse_config(config_text("/d", bad), "/"));
  }
}

// The router judges a head alone (the transport reads no body before this),
// and a request it lets through is not authenticated again.
TEST_CASE("the router refuses on the head and authenticates each request once") {
  server_fixture f(R"("auth_failure_burst": 100, "auth_failure_burst_per_address": 100)");
  const peer_info peer{"10.0.0.1", {}};
  auto head = [](http::verb method, const std::string& target, const std::string& authorization) {
    request_header h;
    h.method(method);
    h.target(target);
    h.version(11);
    if (!authorization.empty()) h.set(http::field::authorization, authorization);
    h.set(http::field::content_type, "application/taxii+json;version=2.1");
    h.set(http::field::content_length, "10000000");
    return h;
  };
  const std::string objects = "/r/collections/c/objects/";
  auto status_of = [](const head_verdict& v) {
    REQUIRE(v.refusal);
    return v.refusal->result_int();
  };
  CHECK(status_of(f.r->judge_head(head(http::verb::post, objects, ""), peer)) == 401);
  CHECK(status_of(f.r->judge_head(head(http::verb::post, objects, basic("alice", "nope")), peer)) ==
        401);
  // alice may read c, not write it.
  CHECK(status_of(f.r->judge_head(head(http::verb::post, objects, basic("alice", "alice-pw")),
                                  peer)) == 403);
  CHECK(status_of(f.r->judge_head(head(http::verb::post, "/taxii2/", basic("alice", "alice-pw")),
                                  peer)) == 405);

  // A GET let through: a small body limit, one KDF for judging and handling.
  f.ex->current()->accounts->cache().clear();
  const auto before = scrypt_evaluations();
  auto v = f.r->judge_head(head(http::verb::get, objects, basic("alice", "alice-pw")), peer);
  REQUIRE_FALSE(v.refusal);
  CHECK(v.body_limit < 10000000);
  REQUIRE(v.context);
  request req{http::verb::get, objects, 11};
  req.set(http::field::authorization, basic("alice", "alice-pw"));
  // A pull is answered from the storage writer's thread.
  auto answered = std::make_shared<std::promise<response>>();
  f.r->handle(std::move(req), peer, std::move(v.context),
              [answered](response res) { answered->set_value(std::move(res)); });
  auto future = answered->get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  CHECK(future.get().result() == http::status::ok);
  CHECK(scrypt_evaluations() == before + 1);
}

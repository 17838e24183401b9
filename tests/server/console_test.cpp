// The console's endpoints through the router (no TLS): the page and its
// files with their headers, sign-in, cookie authentication on the other
// endpoints, the CSRF rule, sign-out, and a reload that ends the sessions of
// changed accounts.
#include <catch2/catch.hpp>
#include <future>

#include "api_fixture.hpp"
#include "console/assets.hpp"
#include "formats/json.hpp"
#include "server/api/console_service.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;

namespace {

const std::string k_collection = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_objects = "/r/collections/shared/objects/";
const std::string k_reader_token = "cairn_reader_token_0123456789abcdef012345678";

// One scrypt hash per password and process (the KDF is slow on purpose).
const std::string& hash_of(const std::string& password) {
  static std::map<std::string, std::string> hashes;
  auto it = hashes.find(password);
  if (it == hashes.end()) it = hashes.emplace(password, hash_secret(password).value()).first;
  return it->second;
}

std::string config_text(const std::string& alice_password = "alice-pw", bool with_bob = true,
                        bool carol_suspended = true, const std::string& limits = "") {
  std::string accounts = R"({"name": "alice", "password_hash": ")" + hash_of(alice_password) +
                         R"(", "read": ["shared"], "write": ["shared"], "clearance": "amber"},
      {"name": "audrey", "password_hash": ")" +
                         hash_of("audrey-pw") + R"(", "auditor": true},
      {"name": "carol", "password_hash": ")" +
                         hash_of("carol-pw") + R"(", "read": ["shared"], "suspended": )" +
                         (carol_suspended ? "true" : "false") + R"(},
      {"name": "reader", "token_hashes": [")" +
                         token_hash(k_reader_token) + R"("], "read": ["shared"]})";
  if (with_bob) {
    accounts +=
        R"(, {"name": "bob", "password_hash": ")" + hash_of("bob-pw") + R"(", "read": ["shared"]})";
  }
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},)" +
         limits + R"(
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_collection + R"(", "title": "shared", "alias": "shared"}]}},
    "accounts": [)" +
         accounts + "]}";
}

struct console_request {
  http::verb method = http::verb::get;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
};

// The router on the fixture's exchange, called the way a session calls it.
struct console_api : test::api_fixture {
  explicit console_api(const std::string& cfg = config_text()) : api_fixture(cfg), r(ex()) {}
  router r;

  response call(const console_request& c, std::uint64_t* body_limit = nullptr) {
    request req{c.method, c.target, 11};
    req.set(http::field::host, "cairn.example");
    for (const auto& [name, value] : c.headers) req.set(name, value);
    if (!c.body.empty()) {
      req.body() = c.body;
      req.prepare_payload();
    }
    auto verdict = r.judge_head(req.base(), test::k_api_peer);
    if (body_limit) *body_limit = verdict.body_limit;
    if (verdict.refusal) return std::move(*verdict.refusal);
    REQUIRE(req.body().size() <= verdict.body_limit);
    auto answered = std::make_shared<std::promise<response>>();
    auto future = answered->get_future();
    r.handle(std::move(req), test::k_api_peer, std::move(verdict.context),
             [answered](response res) { answered->set_value(std::move(res)); });
    REQUIRE(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    return future.get();
  }

  response sign_in(const std::string& account, const std::string& password) {
    return call({http::verb::post,
                 "/cairn/console/session",
                 {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "account=" + account + "&password=" + password});
  }

  // The last record of this action, once the writes queued so far are
  // stored.
  std::string last_record(const std::string& action) {
    std::promise<void> flushed;
    store().checkpoint_now([&](auto) { flushed.set_value(); });
    flushed.get_future().wait();
    cairn::storage::audit_query q;
    q.action = action;
    q.limit = 1000;
    auto page = store().audit_records(q);
    REQUIRE(page);
    REQUIRE_FALSE(page->records.empty());
    return page->records.back();
  }
};

// The session cookie's value from a Set-Cookie header.
std::string cookie_of(const response& res) {
  const std::string set(res[http::field::set_cookie]);
  const std::string prefix = "__Host-cairn-session=";
  REQUIRE(set.starts_with(prefix));
  return set.substr(prefix.size(), set.find(';') - prefix.size());
}

std::string member(const response& res, std::string_view key) {
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  auto m = doc->root().get(key);
  REQUIRE(m);
  if (m->is_bool()) return m->as_bool() ? "true" : "false";
  return std::string(m->as_string());
}

void check_security_headers(const response& res) {
  CHECK(res["Content-Security-Policy"] == "default-src 'self'");
  CHECK(res["X-Content-Type-Options"] == "nosniff");
  CHECK(res["X-Frame-Options"] == "DENY");
  CHECK(res["Referrer-Policy"] == "no-referrer");
  CHECK(res["Cross-Origin-Opener-Policy"] == "same-origin");
  CHECK(res["Strict-Transport-Security"] == "max-age=31536000");
}

std::pair<std::string, std::string> cookie_header(const std::string& token) {
  return {"Cookie", "theme=x; __Host-cairn-session=" + token};
}

std::string asset_path(std::string_view file) {
  return "/cairn/console/assets/" + std::string(cairn::console::console_bundle()) + "/" +
         std::string(file);
}

}  // namespace

TEST_CASE("console: the compiled assets name their bundle in index.html") {
  const auto bundle = cairn::console::console_bundle();
  CHECK(bundle.size() == 16);
  CHECK(bundle.find_first_not_of("0123456789abcdef") == std::string_view::npos);
  const auto* index = cairn::console::find_console_asset("index.html");
  REQUIRE(index);
  CHECK(index->body.find("%ASSETS%") == std::string_view::npos);
  CHECK(index->body.find(asset_path("app.js")) != std::string_view::npos);
  CHECK(index->content_type == "text/html; charset=utf-8");
  REQUIRE(cairn::console::find_console_asset("app.js"));
  CHECK(cairn::console::find_console_asset("app.js")->content_type ==
        "text/javascript; charset=utf-8");
  CHECK_FALSE(cairn::console::find_console_asset("missing.js"));
  for (const auto& a : cairn::console::console_assets()) {
    INFO(a.name);
    CHECK(a.etag.size() == 66);
    CHECK(a.etag.front() == '"');
    CHECK(a.etag.back() == '"');
    CHECK(a.etag.substr(1, 64) == sha256_hex(a.body));
  }
}

TEST_CASE("console: the page is served anonymously with its security headers and a strong ETag") {
  console_api f;
  for (std::string target : {"/cairn/console/", "/cairn/console", "/cairn/console/?object=x"}) {
    INFO(target);
    auto res = f.call({http::verb::get, target});
    REQUIRE(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(res[http::field::cache_control] == "no-cache");
    CHECK(std::string(res[http::field::etag]) ==
          cairn::console::find_console_asset("index.html")->etag);
    CHECK(std::string_view(res.body()) == cairn::console::find_console_asset("index.html")->body);
    check_security_headers(res);
  }
  const std::string etag(cairn::console::find_console_asset("index.html")->etag);
  auto res = f.call({http::verb::get, "/cairn/console/", {{"If-None-Match", etag}}});
  CHECK(res.result_int() == 304);
  CHECK(res.body().empty());
  CHECK(std::string(res[http::field::etag]) == etag);
  check_security_headers(res);
  res = f.call({http::verb::get, "/cairn/console/", {{"If-None-Match", "\"other\""}}});
  CHECK(res.result_int() == 200);
  // HEAD is answered like GET (the transport drops the body).
  res = f.call({http::verb::head, "/cairn/console/"});
  CHECK(res.result_int() == 200);
  // Other methods: 405 with the console's headers.
  res = f.call({http::verb::post, "/cairn/console/"});
  CHECK(res.result_int() == 405);
  check_security_headers(res);
}

TEST_CASE("console: files are immutable under their bundle, and a wrong bundle is a 404") {
  console_api f;
  auto res = f.call({http::verb::get, asset_path("app.js")});
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(res[http::field::cache_control] == "public, max-age=31536000, immutable");
  const auto* app = cairn::console::find_console_asset("app.js");
  CHECK(std::string(res[http::field::etag]) == app->etag);
  CHECK(std::string_view(res.body()) == app->body);
  check_security_headers(res);
  res = f.call({http::verb::get, asset_path("console.css")});
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/css; charset=utf-8");
  res =
      f.call({http::verb::get, asset_path("app.js"), {{"If-None-Match", std::string(app->etag)}}});
  CHECK(res.result_int() == 304);
  res = f.call({http::verb::head, asset_path("app.js")});
  CHECK(res.result_int() == 200);

  for (const std::string& target :
       std::vector<std::string>{"/cairn/console/assets/0000000000000000/app.js",
                                asset_path("nothing.js"), asset_path("index.html")}) {
    INFO(target);
    res = f.call({http::verb::get, target});
    CHECK(res.result_int() == 404);
    CHECK(res[http::field::content_type] == "application/taxii+json;version=2.1");
    CHECK(member(res, "description").size() > 10);
    check_security_headers(res);
  }
}

TEST_CASE("console: sign-in sets a session cookie with every flag and describes the session") {
  console_api f;
  std::uint64_t limit = 0;
  auto res = f.call({http::verb::post,
                     "/cairn/console/session",
                     {{"Content-Type", "application/x-www-form-urlencoded"}},
                     "account=alice&password=alice-pw"},
                    &limit);
  CHECK(limit == 4096);
  REQUIRE(res.result_int() == 200);
  check_security_headers(res);
  const std::string set(res[http::field::set_cookie]);
  const auto token = cookie_of(res);
  CHECK(token.size() == 43);
  CHECK(set == "__Host-cairn-session=" + token +
                   "; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Strict");
  CHECK(member(res, "account") == "alice");
  CHECK(member(res, "auditor") == "false");
  CHECK(member(res, "clearance") == "amber");
  CHECK(member(res, "csrf_token").size() == 43);
  CHECK(member(res, "expires").ends_with("Z"));

  // JSON works too; the auditor is told so.
  res = f.call({http::verb::post,
                "/cairn/console/session",
                {{"Content-Type", "application/json"}},
                R"({"account":"audrey","password":"audrey-pw"})"});
  REQUIRE(res.result_int() == 200);
  CHECK(member(res, "auditor") == "true");
  CHECK(f.ex().sessions().size() == 2);
}

TEST_CASE("console: a wrong password is a 401 with the Session challenge and an auth-failure") {
  console_api f;
  auto res = f.sign_in("alice", "wrong");
  REQUIRE(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
  CHECK(res[http::field::set_cookie].empty());
  check_security_headers(res);
  const auto record = f.last_record("auth-failure");
  CHECK(record.find(R"("account":"alice")") != std::string::npos);
  CHECK(record.find("wrong") == std::string::npos);
  // An unknown account: the same answer.
  res = f.sign_in("mallory", "x");
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
  CHECK(f.ex().sessions().size() == 0);
}

TEST_CASE("console: repeated wrong passwords hit the authentication throttle") {
  console_api f(
      config_text("alice-pw", true, true,
                  R"( "limits": {"auth_failure_burst": 2, "auth_failures_per_minute": 1},)"));
  CHECK(f.sign_in("alice", "wrong1").result_int() == 401);
  CHECK(f.sign_in("alice", "wrong2").result_int() == 401);
  auto res = f.sign_in("alice", "wrong3");
  CHECK(res.result_int() == 429);
  CHECK_FALSE(res[http::field::retry_after].empty());
  check_security_headers(res);
  // A refused attempt is refused even with the right password (no KDF runs).
  CHECK(f.sign_in("alice", "alice-pw").result_int() == 429);
}

TEST_CASE("console: a malformed sign-in is a 400 that never echoes the password") {
  console_api f;
  struct bad {
    std::string content_type;
    std::string body;
  };
  for (const auto& b : std::vector<bad>{
           {"application/x-www-form-urlencoded", "account=alice"},
           {"application/x-www-form-urlencoded", "password=secret-pw"},
           {"application/x-www-form-urlencoded", "account=alice&password=secret-pw&x=1"},
           {"application/x-www-form-urlencoded", "account=alice&password=secret-pw%zz"},
           {"application/x-www-form-urlencoded", "account=alice&account=b&password=secret-pw"},
           {"application/x-www-form-urlencoded",
            "account=" + std::string(300, 'a') + "&password=secret-pw"},
           {"application/x-www-form-urlencoded",
            "account=alice&password=secret-pw" + std::string(1100, 'x')},
           {"application/json", R"({"account":"alice"})"},
           {"application/json", R"({"account":"alice","password":7})"},
           {"application/json", R"(["alice","secret-pw"])"},
           {"application/json", R"({"account":"alice","password":"secret-pw")"},
           {"text/plain", "account=alice&password=secret-pw"},
       }) {
    INFO(b.body.substr(0, 80));
    auto res = f.call(
        {http::verb::post, "/cairn/console/session", {{"Content-Type", b.content_type}}, b.body});
    CHECK(res.result_int() == 400);
    CHECK(res.body().find("secret-pw") == std::string::npos);
    check_security_headers(res);
  }
  CHECK(f.ex().sessions().size() == 0);
}

TEST_CASE("console: the cookie authenticates the other endpoints, after Authorization") {
  console_api f;
  const auto token = cookie_of(f.sign_in("alice", "alice-pw"));
  auto res = f.call({http::verb::get, "/taxii2/", {cookie_header(token)}});
  CHECK(res.result_int() == 200);
  res = f.call({http::verb::get, "/r/collections/shared/objects/", {cookie_header(token)}});
  CHECK(res.result_int() == 200);
  // The auditor's cookie reaches the sharing record; alice's does not.
  const auto audrey = cookie_of(f.sign_in("audrey", "audrey-pw"));
  CHECK(f.call({http::verb::get, "/cairn/v1/audit", {cookie_header(audrey)}}).result_int() == 200);
  CHECK(f.call({http::verb::get, "/cairn/v1/audit", {cookie_header(token)}}).result_int() == 403);
  // Authorization comes first: the reader's token, whatever the cookie says.
  res = f.call({http::verb::get,
                "/cairn/v1/audit",
                {cookie_header(audrey), {"Authorization", "Bearer " + k_reader_token}}});
  CHECK(res.result_int() == 403);
  // An unknown cookie alone: 401 with the Session challenge.
  res = f.call({http::verb::get, "/taxii2/", {cookie_header("bm90LWEtc2Vzc2lvbg")}});
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
  // No credentials at all: the Basic challenge, as before.
  res = f.call({http::verb::get, "/taxii2/"});
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Basic realm=\"cairn\"");
}

TEST_CASE("console: GET session repeats the session, and needs the cookie") {
  console_api f;
  auto signed_in = f.sign_in("alice", "alice-pw");
  const auto token = cookie_of(signed_in);
  auto res = f.call({http::verb::get, "/cairn/console/session", {cookie_header(token)}});
  REQUIRE(res.result_int() == 200);
  CHECK(member(res, "csrf_token") == member(signed_in, "csrf_token"));
  CHECK(member(res, "expires") == member(signed_in, "expires"));
  CHECK(member(res, "account") == "alice");
  check_security_headers(res);
  CHECK(res.body().find("\"signed_in\":true") != std::string::npos);
  // No cookie, or Basic/Bearer only, or an unknown cookie: no session, said
  // with a 200 (the page asks on every load; a 401 would be logged by the
  // browser as an error).
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {{"Authorization", "Bearer " + k_reader_token}}, {cookie_header("unknown")}}) {
    res = f.call({http::verb::get, "/cairn/console/session", headers});
    CHECK(res.result_int() == 200);
    CHECK(res.body() == R"({"signed_in":false})");
    CHECK(res[http::field::cache_control] == "no-store");
    CHECK(res[http::field::set_cookie].empty());
    check_security_headers(res);
  }
  // DELETE still needs a session.
  res = f.call({http::verb::delete_, "/cairn/console/session", {cookie_header("unknown")}});
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
}

TEST_CASE("console: a cookie request that changes state needs the CSRF token") {
  console_api f;
  auto signed_in = f.sign_in("alice", "alice-pw");
  const auto token = cookie_of(signed_in);
  const auto csrf = member(signed_in, "csrf_token");
  const std::pair<std::string, std::string> taxii_body{"Content-Type",
                                                       "application/taxii+json;version=2.1"};
  auto res = f.call({http::verb::post, k_objects, {cookie_header(token), taxii_body}, "{}"});
  CHECK(res.result_int() == 403);
  CHECK(member(res, "description") ==
        "a console request that changes state needs its session's X-CSRF-Token header");
  auto record = f.last_record("denied");
  CHECK(record.find(R"("account":"alice")") != std::string::npos);
  CHECK(record.find(R"("status":403)") != std::string::npos);
  // A wrong token, or a foreign Origin with the right one.
  res = f.call({http::verb::post,
                k_objects,
                {cookie_header(token), taxii_body, {"X-CSRF-Token", csrf + "x"}},
                "{}"});
  CHECK(res.result_int() == 403);
  res = f.call({http::verb::post,
                k_objects,
                {cookie_header(token),
                 taxii_body,
                 {"X-CSRF-Token", csrf},
                 {"Origin", "https://evil.example"}},
                "{}"});
  CHECK(res.result_int() == 403);
  // With the token (and a same-origin Origin) the request reaches the
  // endpoint, which judges the body.
  res = f.call({http::verb::post,
                k_objects,
                {cookie_header(token),
                 taxii_body,
                 {"X-CSRF-Token", csrf},
                 {"Origin", "https://cairn.example"}},
                R"({"objects":[]})"});
  CHECK(res.result_int() != 403);
  CHECK(res.result_int() != 401);
  // A token-authenticated POST needs no CSRF token.
  res = f.call({http::verb::post,
                k_objects,
                {{"Authorization", "Bearer " + k_reader_token}, taxii_body},
                R"({"objects":[]})"});
  CHECK(res.result_int() == 403);  // the reader may not write; no CSRF refusal
  CHECK(member(res, "description") == "account 'reader' may not write to this collection");
}

TEST_CASE("console: sign-out needs the CSRF token, ends the session and clears the cookie") {
  console_api f;
  auto signed_in = f.sign_in("alice", "alice-pw");
  const auto token = cookie_of(signed_in);
  const auto csrf = member(signed_in, "csrf_token");
  auto res = f.call({http::verb::delete_, "/cairn/console/session", {cookie_header(token)}});
  CHECK(res.result_int() == 403);
  check_security_headers(res);
  CHECK(f.call({http::verb::get, "/taxii2/", {cookie_header(token)}}).result_int() == 200);

  res = f.call({http::verb::delete_,
                "/cairn/console/session",
                {cookie_header(token), {"X-CSRF-Token", csrf}}});
  CHECK(res.result_int() == 204);
  CHECK(res[http::field::set_cookie] ==
        "__Host-cairn-session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
  check_security_headers(res);
  res = f.call({http::verb::get, "/taxii2/", {cookie_header(token)}});
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
  CHECK(f.ex().sessions().size() == 0);
}

TEST_CASE("console: a reload ends the sessions of changed and removed accounts only") {
  console_api f;
  const auto alice = cookie_of(f.sign_in("alice", "alice-pw"));
  const auto bob = cookie_of(f.sign_in("bob", "bob-pw"));
  const auto audrey = cookie_of(f.sign_in("audrey", "audrey-pw"));
  // alice's password changes, bob is removed, audrey is unchanged.
  auto cfg = parse_config(config_text("alice-new-pw", false), "/");
  REQUIRE(cfg);
  cfg->data_dir = f.ex().current()->cfg->data_dir;
  REQUIRE(f.ex().apply(std::move(*cfg)));
  for (const auto& gone : {alice, bob}) {
    auto res = f.call({http::verb::get, "/taxii2/", {cookie_header(gone)}});
    CHECK(res.result_int() == 401);
    CHECK(res[http::field::www_authenticate] == "Session realm=\"cairn\"");
  }
  CHECK(f.call({http::verb::get, "/cairn/v1/audit", {cookie_header(audrey)}}).result_int() == 200);
  CHECK(f.ex().sessions().size() == 1);
  CHECK(f.sign_in("alice", "alice-new-pw").result_int() == 200);
}

TEST_CASE("console: a suspended account cannot sign in, and the refusal is recorded") {
  console_api f;
  auto res = f.sign_in("carol", "carol-pw");
  CHECK(res.result_int() == 403);
  CHECK(member(res, "description").starts_with("account suspended"));
  check_security_headers(res);
  CHECK(res[http::field::set_cookie].empty());
  const auto record = f.last_record("denied");
  CHECK(record.find(R"("account":"carol")") != std::string::npos);
  CHECK(f.ex().sessions().size() == 0);
}

TEST_CASE("console: a sign-in posted from another origin is refused before any password check") {
  console_api f;
  const std::pair<std::string, std::string> form{"Content-Type",
                                                 "application/x-www-form-urlencoded"};
  auto res = f.call({http::verb::post,
                     "/cairn/console/session",
                     {form, {"Origin", "https://elsewhere.example"}},
                     "account=alice&password=alice-pw"});
  CHECK(res.result_int() == 403);
  CHECK(member(res, "description") == "a sign-in must come from this server's own console page");
  check_security_headers(res);
  CHECK(res[http::field::set_cookie].empty());
  CHECK(f.ex().sessions().size() == 0);
  res = f.call({http::verb::post,
                "/cairn/console/session",
                {form, {"Origin", "https://cairn.example"}},
                "account=alice&password=alice-pw"});
  CHECK(res.result_int() == 200);
}

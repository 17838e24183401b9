// The console against the real cairnd over TLS: the page and its files with
// their headers, sign-in and its cookie, cookie authentication on TAXII and
// on the sharing record, the throttle and the record of failed sign-ins,
// the CSRF rule, sign-out, and a SIGHUP that ends the sessions of changed
// or removed accounts.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

// A client with no credentials of its own: the cookie is all it presents.
clients::taxii_client anonymous(const test_server& srv) {
  auto c = clients::taxii_client::make(srv.options("no-such-account"));
  REQUIRE(c);
  return std::move(*c);
}

clients::http_response call(clients::taxii_client& c, const std::string& method,
                            const std::string& target, clients::header_list headers = {},
                            const std::string& body = {}) {
  auto r = c.request(method, target, headers, body);
  REQUIRE(r);
  return std::move(*r);
}

struct signed_in {
  clients::http_response response;
  std::string cookie;  // "__Host-cairn-session=<token>", for a Cookie header
  std::string csrf;
};

clients::http_response sign_in_response(clients::taxii_client& c, const std::string& account,
                                        const std::string& password) {
  return call(c, "POST", "/cairn/console/session",
              {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "*/*"}},
              "account=" + account + "&password=" + password);
}

signed_in sign_in(clients::taxii_client& c, const std::string& account,
                  const std::string& password) {
  signed_in s{sign_in_response(c, account, password), {}, {}};
  REQUIRE(s.response.status == 200);
  const auto set = s.response.header("Set-Cookie");
  REQUIRE(set);
  s.cookie = set->substr(0, set->find(';'));
  auto doc = formats::parse_json(s.response.body);
  REQUIRE(doc);
  s.csrf = std::string(doc->root().get("csrf_token")->as_string());
  return s;
}

void check_security_headers(const clients::http_response& r) {
  CHECK(r.header("Content-Security-Policy").value_or("") == "default-src 'self'");
  CHECK(r.header("X-Content-Type-Options").value_or("") == "nosniff");
  CHECK(r.header("X-Frame-Options").value_or("") == "DENY");
  CHECK(r.header("Referrer-Policy").value_or("") == "no-referrer");
  CHECK(r.header("Cross-Origin-Opener-Policy").value_or("") == "same-origin");
  CHECK(r.header("Strict-Transport-Security").value_or("") == "max-age=31536000");
}

void check_session_challenge(const clients::http_response& r) {
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").value_or("") == "Session realm=\"cairn\"");
}

// The records of this action, as the auditor reads them (the record is
// written after the answer: waits a little for it).
std::string records(const test_server& srv, const std::string& action) {
  auto auditor = srv.client("auditor");
  std::string body;
  for (int i = 0; i < 200; ++i) {
    auto r = call(auditor, "GET", "/cairn/v1/audit?action=" + action);
    REQUIRE(r.status == 200);
    body = r.body;
    if (body.find("\"records\":[]") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return body;
}

}  // namespace

TEST_CASE("console over TLS: the page and its files, with their headers", "[console]") {
  test_server srv;
  auto c = anonymous(srv);
  auto index = call(c, "GET", "/cairn/console/", {{"Accept", "text/html"}});
  REQUIRE(index.status == 200);
  check_security_headers(index);
  CHECK(index.header("Content-Type").value_or("") == "text/html; charset=utf-8");
  CHECK(index.header("Cache-Control").value_or("") == "no-cache");
  const auto etag = index.header("ETag").value_or("");
  CHECK(etag.size() == 66);
  // index.html names its files under the bundle.
  const std::string prefix = "/cairn/console/assets/";
  const auto at = index.body.find(prefix);
  REQUIRE(at != std::string::npos);
  const auto bundle = index.body.substr(at + prefix.size(), 16);
  CHECK(index.body.find(prefix + bundle + "/app.js") != std::string::npos);
  CHECK(index.body.find("%ASSETS%") == std::string::npos);

  auto again = call(c, "GET", "/cairn/console/?object=indicator--1", {{"If-None-Match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  check_security_headers(again);

  auto head = call(c, "HEAD", "/cairn/console/");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("ETag").value_or("") == etag);
  check_security_headers(head);

  auto app = call(c, "GET", prefix + bundle + "/app.js", {{"Accept", "*/*"}});
  REQUIRE(app.status == 200);
  check_security_headers(app);
  CHECK(app.header("Content-Type").value_or("") == "text/javascript; charset=utf-8");
  CHECK(app.header("Cache-Control").value_or("") == "public, max-age=31536000, immutable");
  const auto app_etag = app.header("ETag").value_or("");
  CHECK(app_etag.size() == 66);
  CHECK(call(c, "GET", prefix + bundle + "/app.js", {{"If-None-Match", app_etag}}).status == 304);
  auto app_head = call(c, "HEAD", prefix + bundle + "/app.js");
  CHECK(app_head.status == 200);
  CHECK(app_head.body.empty());

  auto wrong = call(c, "GET", prefix + "0123456789abcdef/app.js");
  CHECK(wrong.status == 404);
  check_security_headers(wrong);
  CHECK(call(c, "GET", prefix + bundle + "/missing.js").status == 404);
}

TEST_CASE("console over TLS: sign-in, cookie authentication and sign-out", "[console]") {
  test_server srv;
  auto c = anonymous(srv);
  auto s = sign_in(c, "reader", "reader-password");
  check_security_headers(s.response);
  const auto set = *s.response.header("Set-Cookie");
  CHECK(set.starts_with("__Host-cairn-session="));
  CHECK(set.ends_with("; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Strict"));
  CHECK(s.cookie.size() == std::string("__Host-cairn-session=").size() + 43);
  CHECK(s.csrf.size() == 43);

  // The cookie alone authenticates TAXII, as the account it names.
  auto collections = call(c, "GET", "/api1/collections/", {{"Cookie", s.cookie}});
  REQUIRE(collections.status == 200);
  CHECK(collections.body.find(k_intel) != std::string::npos);
  CHECK(collections.body.find(k_secret) == std::string::npos);  // reader may not see it
  // And the reader is no auditor.
  CHECK(call(c, "GET", "/cairn/v1/audit", {{"Cookie", s.cookie}}).status == 403);
  auto me = call(c, "GET", "/cairn/console/session", {{"Cookie", s.cookie}});
  REQUIRE(me.status == 200);
  CHECK(me.body.find("\"csrf_token\":\"" + s.csrf + "\"") != std::string::npos);

  // An auditor's cookie reads the sharing record.
  auto a = sign_in(c, "auditor", "auditor-password");
  auto audit = call(c, "GET", "/cairn/v1/audit?limit=5", {{"Cookie", a.cookie}});
  CHECK(audit.status == 200);
  CHECK(audit.body.find("\"records\"") != std::string::npos);

  // Sign-out without the CSRF token: refused; with it: the cookie is dead.
  auto refused = call(c, "DELETE", "/cairn/console/session", {{"Cookie", s.cookie}});
  CHECK(refused.status == 403);
  check_security_headers(refused);
  CHECK(call(c, "GET", "/taxii2/", {{"Cookie", s.cookie}}).status == 200);
  auto out =
      call(c, "DELETE", "/cairn/console/session", {{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}});
  CHECK(out.status == 204);
  CHECK(out.header("Set-Cookie").value_or("") ==
        "__Host-cairn-session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
  check_session_challenge(call(c, "GET", "/taxii2/", {{"Cookie", s.cookie}}));
  auto gone = call(c, "GET", "/cairn/console/session", {{"Cookie", s.cookie}});
  CHECK(gone.status == 200);
  CHECK(gone.body == R"({"signed_in":false})");
  // The auditor's session is another session, and lives on.
  CHECK(call(c, "GET", "/cairn/v1/audit?limit=1", {{"Cookie", a.cookie}}).status == 200);
}

TEST_CASE("console over TLS: a state change by cookie needs the CSRF token", "[console]") {
  test_server srv;
  auto c = anonymous(srv);
  auto s = sign_in(c, "admin", "admin-password");
  const auto objects = std::string("/api1/collections/") + k_intel + "/objects/";
  const auto body =
      envelope({make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")});
  const std::string taxii = "application/taxii+json;version=2.1";
  auto refused = call(c, "POST", objects, {{"Cookie", s.cookie}, {"Content-Type", taxii}}, body);
  CHECK(refused.status == 403);
  CHECK(refused.body.find("needs its session's X-CSRF-Token header") != std::string::npos);
  const auto denied = records(srv, "denied");
  CHECK(denied.find("\"account\":\"admin\"") != std::string::npos);
  // A foreign Origin is refused even with the token.
  CHECK(call(c, "POST", objects,
             {{"Cookie", s.cookie},
              {"Content-Type", taxii},
              {"X-CSRF-Token", s.csrf},
              {"Origin", "https://elsewhere.example"}},
             body)
            .status == 403);
  // With the token and this server's origin, the publish goes through.
  auto ok = call(c, "POST", objects,
                 {{"Cookie", s.cookie},
                  {"Content-Type", taxii},
                  {"X-CSRF-Token", s.csrf},
                  {"Origin", srv.base_url()}},
                 body);
  CHECK(ok.status == 202);
}

TEST_CASE("console over TLS: failed sign-ins are recorded and throttled", "[console]") {
  auto setup = default_setup();
  setup.limits_json = R"("auth_failure_burst": 3, "auth_failures_per_minute": 1)";
  test_server srv(setup);
  auto c = anonymous(srv);
  auto wrong = sign_in_response(c, "reader", "not-the-password");
  check_session_challenge(wrong);
  check_security_headers(wrong);
  CHECK_FALSE(wrong.header("Set-Cookie"));
  CHECK(wrong.body.find("not-the-password") == std::string::npos);
  const auto failures = records(srv, "auth-failure");
  CHECK(failures.find("\"account\":\"reader\"") != std::string::npos);
  CHECK(srv.log_text().find("not-the-password") == std::string::npos);

  int throttled = 0;
  for (int i = 0; i < 5 && throttled == 0; ++i) {
    auto r = sign_in_response(c, "reader", "still-wrong");
    if (r.status == 429) {
      ++throttled;
      CHECK(r.header("Retry-After"));
    } else {
      CHECK(r.status == 401);
    }
  }
  CHECK(throttled == 1);
  // Another account from the same address still signs in.
  sign_in(c, "admin", "admin-password");
}

TEST_CASE("console over TLS: a suspended account cannot sign in", "[console]") {
  auto setup = default_setup();
  for (auto& a : setup.accounts) {
    if (a.name == "nobody") a.suspended = true;
  }
  test_server srv(setup);
  auto c = anonymous(srv);
  auto r = sign_in_response(c, "nobody", "nobody-password");
  CHECK(r.status == 403);
  CHECK(r.body.find("account suspended") != std::string::npos);
  CHECK_FALSE(r.header("Set-Cookie"));
}

TEST_CASE("console over TLS: a SIGHUP ends the sessions of changed and removed accounts",
          "[console]") {
  test_server srv;
  auto c = anonymous(srv);
  auto reader = sign_in(c, "reader", "reader-password");
  auto nobody = sign_in(c, "nobody", "nobody-password");
  auto admin = sign_in(c, "admin", "admin-password");
  auto setup = srv.setup();
  std::erase_if(setup.accounts, [](const test_account& a) { return a.name == "nobody"; });
  for (auto& a : setup.accounts) {
    if (a.name == "reader") a.password = "reader-new-password";
  }
  const auto offset = srv.log_text().size();
  srv.reload(setup);
  REQUIRE(srv.wait_for_log("config loaded", offset));
  CHECK(srv.log_text().find("console sessions ended", offset) != std::string::npos);
  check_session_challenge(call(c, "GET", "/taxii2/", {{"Cookie", reader.cookie}}));
  check_session_challenge(call(c, "GET", "/taxii2/", {{"Cookie", nobody.cookie}}));
  CHECK(call(c, "GET", "/taxii2/", {{"Cookie", admin.cookie}}).status == 200);
  // The new password signs in; the old one no longer does.
  check_session_challenge(sign_in_response(c, "reader", "reader-password"));
  sign_in(c, "reader", "reader-new-password");
}

TEST_CASE("console over TLS: a restart signs everyone out", "[console]") {
  test_server srv;
  auto c = anonymous(srv);
  auto s = sign_in(c, "reader", "reader-password");
  srv.restart();
  auto fresh = anonymous(srv);
  check_session_challenge(call(fresh, "GET", "/taxii2/", {{"Cookie", s.cookie}}));
}

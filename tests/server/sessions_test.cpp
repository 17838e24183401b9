// The console's session store (server/auth/sessions.hpp) on a clock the test
// moves: lifetime, the caps per account and in all, a SIGHUP's fingerprint
// check, the cookie parser and the CSRF rule.
#include "server/auth/sessions.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>

using namespace cairn::server;
using namespace std::chrono_literals;

namespace {

struct clocked_store {
  session_store::clock::time_point now{std::chrono::sys_days{std::chrono::November / 27 / 2026}};
  session_store store;

  explicit clocked_store(session_store::limits l = {}) : store(l, [this] { return now; }) {}

  session_store::created make(const std::string& account, const std::string& fp = "fp") {
    auto c = store.create(account, fp);
    REQUIRE(c);
    return *c;
  }
};

bool is_base64url_of_32_bytes(const std::string& s) {
  if (s.size() != 43) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

account_config sample_account() {
  account_config a;
  a.name = "alice";
  a.password_hash = "$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaA";
  a.token_hashes = {"$sha256$00"};
  a.client_cert_sha256 = std::string(64, 'a');
  a.read = {"open"};
  a.write = {"open"};
  a.clearance = cairn::formats::tlp_level::amber;
  return a;
}

}  // namespace

TEST_CASE("sessions: a new session is found by its token until it expires 12 h later") {
  clocked_store s;
  auto c = s.make("alice", "fp1");
  CHECK(is_base64url_of_32_bytes(c.token));
  CHECK(is_base64url_of_32_bytes(c.session.csrf_token));
  CHECK(c.token != c.session.csrf_token);
  CHECK(c.session.account == "alice");
  CHECK(c.session.fingerprint == "fp1");
  CHECK(c.session.created == s.now);
  CHECK(c.session.expires == s.now + 12h);

  auto found = s.store.find(c.token);
  REQUIRE(found);
  CHECK(found->account == "alice");
  CHECK(found->csrf_token == c.session.csrf_token);
  CHECK_FALSE(s.store.find("not-a-token"));
  // The store keys on the token's hash: the CSRF token is no session token.
  CHECK_FALSE(s.store.find(c.session.csrf_token));

  // Absolute lifetime: using the session does not extend it.
  s.now += 12h - 1s;
  CHECK(s.store.find(c.token));
  s.now += 1s;
  CHECK_FALSE(s.store.find(c.token));
  CHECK(s.store.size() == 0);
}

TEST_CASE("sessions: two sign-ins get different tokens") {
  clocked_store s;
  auto a = s.make("alice");
  auto b = s.make("alice");
  CHECK(a.token != b.token);
  CHECK(a.session.csrf_token != b.session.csrf_token);
  CHECK(s.store.size("alice") == 2);
}

TEST_CASE("sessions: expired sessions are purged when a new one is made") {
  clocked_store s;
  s.make("alice");
  s.make("bob");
  s.now += 13h;
  auto c = s.make("carol");
  CHECK(s.store.size() == 1);
  CHECK(s.store.size("alice") == 0);
  CHECK(s.store.find(c.token));
}

TEST_CASE("sessions: ending a session makes its token unknown") {
  clocked_store s;
  auto a = s.make("alice");
  auto b = s.make("alice");
  CHECK(s.store.end(a.token));
  CHECK_FALSE(s.store.end(a.token));
  CHECK_FALSE(s.store.find(a.token));
  CHECK(s.store.find(b.token));
}

TEST_CASE("sessions: signing in past the per-account cap ends that account's oldest") {
  clocked_store s({.per_account = 3});
  auto other = s.make("bob");
  std::vector<session_store::created> mine;
  for (int i = 0; i < 4; ++i) {
    mine.push_back(s.make("alice"));
    s.now += 1s;
  }
  CHECK(s.store.size("alice") == 3);
  CHECK_FALSE(s.store.find(mine[0].token));
  for (int i = 1; i < 4; ++i) CHECK(s.store.find(mine[i].token));
  CHECK(s.store.find(other.token));  // another account's session is untouched
}

TEST_CASE("sessions: the default caps are 64 per account and 100000 in all") {
  session_store::limits l;
  CHECK(l.per_account == 64);
  CHECK(l.total == 100000);
  CHECK(l.lifetime == 12h);
  clocked_store s;
  auto first = s.make("alice");
  for (int i = 0; i < 64; ++i) s.make("alice");
  CHECK(s.store.size("alice") == 64);
  CHECK_FALSE(s.store.find(first.token));
}

TEST_CASE("sessions: past the cap in all the oldest session of any account ends") {
  clocked_store s({.total = 3});
  auto a = s.make("alice");
  auto b = s.make("bob");
  auto c = s.make("carol");
  auto d = s.make("dave");
  CHECK(s.store.size() == 3);
  CHECK_FALSE(s.store.find(a.token));
  CHECK(s.store.size("alice") == 0);
  CHECK(s.store.find(b.token));
  CHECK(s.store.find(c.token));
  CHECK(s.store.find(d.token));
}

TEST_CASE("sessions: retain ends the sessions of removed and changed accounts only") {
  clocked_store s;
  auto a = s.make("alice", "fa");
  auto b = s.make("bob", "fb");
  auto c = s.make("carol", "fc");
  std::map<std::string, std::string, std::less<>> now_in_config{{"alice", "fa"},
                                                                {"bob", "fb-changed"}};
  const auto ended = s.store.retain([&](std::string_view name) -> std::optional<std::string> {
    auto it = now_in_config.find(name);
    if (it == now_in_config.end()) return std::nullopt;
    return it->second;
  });
  CHECK(ended == 2);
  CHECK(s.store.find(a.token));
  CHECK_FALSE(s.store.find(b.token));
  CHECK_FALSE(s.store.find(c.token));
  CHECK(s.store.size() == 1);
}

TEST_CASE("sessions: an account's fingerprint changes with every field of its entry") {
  const auto base = sample_account();
  const auto fp = account_fingerprint(base);
  CHECK(fp.size() == 64);
  CHECK(account_fingerprint(sample_account()) == fp);
  std::vector<account_config> changed(11, base);
  changed[0].name = "alicf";
  changed[1].password_hash = "$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaB";
  changed[2].password_hash.reset();
  changed[3].token_hashes.push_back("$sha256$01");
  changed[4].client_cert_sha256.reset();
  changed[5].read = {"open", "closed"};
  changed[6].write.clear();
  changed[7].clearance = cairn::formats::tlp_level::red;
  changed[8].auditor = true;
  changed[9].suspended = true;
  // Moving a value from one list to another is a change too.
  changed[10].read = {"open", "open"};
  changed[10].write = {};
  for (const auto& c : changed) CHECK(account_fingerprint(c) != fp);
}

TEST_CASE("sessions: the session cookie is found among the Cookie header's pairs") {
  CHECK(session_cookie_value("__Host-cairn-session=abc") == "abc");
  CHECK(session_cookie_value("theme=dark; __Host-cairn-session=abc; x=y") == "abc");
  CHECK(session_cookie_value("__Host-cairn-session=\"abc\"") == "abc");
  CHECK(session_cookie_value("__Host-cairn-session=") == "");
  CHECK_FALSE(session_cookie_value("cairn-session=abc"));
  CHECK_FALSE(session_cookie_value("x__Host-cairn-session=abc"));
  CHECK_FALSE(session_cookie_value(""));
}

TEST_CASE("csrf: reads pass, anything else needs the session's token and a same-origin Origin") {
  console_session s;
  s.csrf_token = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE";
  using http::verb;
  for (auto v : {verb::get, verb::head, verb::options}) {
    CHECK(csrf_allows(v, "", "", "cairn.example", s));
    CHECK(csrf_allows(v, "wrong", "https://evil.example", "cairn.example", s));
  }
  for (auto v : {verb::post, verb::delete_, verb::put, verb::patch}) {
    CHECK(csrf_allows(v, s.csrf_token, "", "cairn.example", s));
    CHECK_FALSE(csrf_allows(v, "", "", "cairn.example", s));
    // Same length, one character off (compared in constant time).
    auto off = s.csrf_token;
    off.back() = 'b';
    CHECK_FALSE(csrf_allows(v, off, "", "cairn.example", s));
    CHECK_FALSE(csrf_allows(v, s.csrf_token + "a", "", "cairn.example", s));
    CHECK_FALSE(csrf_allows(v, s.csrf_token.substr(1), "", "cairn.example", s));
  }
  // Origin, when present, must be this host over https.
  CHECK(
      csrf_allows(verb::post, s.csrf_token, "https://cairn.example:8443", "cairn.example:8443", s));
  CHECK(csrf_allows(verb::post, s.csrf_token, "HTTPS://Cairn.Example", "cairn.example", s));
  CHECK_FALSE(csrf_allows(verb::post, s.csrf_token, "https://evil.example", "cairn.example", s));
  CHECK_FALSE(csrf_allows(verb::post, s.csrf_token, "http://cairn.example", "cairn.example", s));
  CHECK_FALSE(
      csrf_allows(verb::post, s.csrf_token, "https://cairn.example:8443", "cairn.example", s));
  CHECK_FALSE(csrf_allows(verb::post, s.csrf_token, "null", "cairn.example", s));
  CHECK_FALSE(csrf_allows(verb::post, s.csrf_token, "https://cairn.example", "", s));
  CHECK(is_own_origin("https://cairn.example", "cairn.example"));
  CHECK_FALSE(is_own_origin("https://cairn.example.evil", "cairn.example"));
  CHECK_FALSE(is_own_origin("", "cairn.example"));
  // A session without a token (never made by the store) lets nothing through.
  console_session empty;
  CHECK_FALSE(csrf_allows(verb::post, "", "", "cairn.example", empty));
}

#include "server/auth/accounts.hpp"

#include <catch2/catch.hpp>

#include "formats/base64.hpp"
#include "tests/server/test_support.hpp"

using namespace cairn::server;
using cairn::formats::base64_encode;
using cairn::formats::tlp_level;

namespace {

const std::string k_ind = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_rep = "0d8f2b5e-7b1c-4e0a-8f3d-2a9c1b7e6d54";
const std::string k_lab = "7a0c5e2d-3b4f-4a6b-9c8d-1e2f3a4b5c6d";
const std::string k_fp = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

struct fixture {
  std::string alice_hash = test::password_hash("alice-pw");
  std::string bob_token = "cairn_bob_token_0123456789";
  std::unique_ptr<account_table> table;

  fixture() {
    const std::string text = R"({
      "listen": "127.0.0.1:0", "data_dir": "d",
      "tls": {"cert": "c", "key": "k", "client_ca": "ca"},
      "discovery": {"title": "t", "default": "sharing"},
      "api_roots": {
        "sharing": {"title": "s", "collections": [
          {"id": ")" + k_ind +
                             R"(", "title": "Indicators", "alias": "indicators"},
          {"id": ")" + k_rep +
                             R"(", "title": "Reports", "alias": "reports"}]},
        "lab": {"title": "l", "collections": [
          {"id": ")" + k_lab +
                             R"(", "title": "Lab", "alias": "samples"}]}
      },
      "accounts": [
        {"name": "alice", "password_hash": ")" +
                             alice_hash + R"(",
         "read": ["indicators"], "write": [")" +
                             k_rep + R"("], "clearance": "green"},
        {"name": "bob", "token_hashes": [")" +
                             token_hash(bob_token) + R"("],
         "read": ["*"], "write": ["sharing/*"], "clearance": "amber", "auditor": true},
        {"name": "carol", "client_cert_sha256": ")" +
                             k_fp + R"(", "read": ["lab/samples"]},
        {"name": "dave", "token_hashes": [")" +
                             token_hash("other") + R"("]}
      ]})";
    auto cfg = parse_config(text, "/");
    if (!cfg) {
      for (const auto& p : cfg.error()) FAIL(p.to_string());
    }
    table = std::make_unique<account_table>(*cfg);
  }
};

std::string basic(std::string_view pair) {
  return "Basic " + base64_encode(pair);
}

}  // namespace

TEST_CASE("accounts are found by name, password, token and certificate") {
  fixture f;
  CHECK(f.table->size() == 4);
  auto alice = f.table->find("alice");
  REQUIRE(alice);
  CHECK(alice->clearance == tlp_level::green);
  CHECK_FALSE(alice->auditor);
  CHECK_FALSE(f.table->find("mallory"));
  CHECK_FALSE(f.table->find("Alice"));

  CHECK(f.table->authenticate_basic("alice", "alice-pw") == alice);
  CHECK_FALSE(f.table->authenticate_basic("alice", "alice-pw "));
  CHECK_FALSE(f.table->authenticate_basic("alice", ""));
  CHECK_FALSE(f.table->authenticate_basic("mallory", "alice-pw"));
  CHECK_FALSE(f.table->authenticate_basic("bob", "anything"));  // no password

  auto bob = f.table->authenticate_bearer(f.bob_token);
  REQUIRE(bob);
  CHECK(bob->name == "bob");
  CHECK(bob->auditor);
  CHECK_FALSE(f.table->authenticate_bearer(f.bob_token + "x"));
  CHECK_FALSE(f.table->authenticate_bearer(""));
  CHECK_FALSE(f.table->authenticate_bearer(token_hash(f.bob_token)));  // the hash is no token
  CHECK(f.table->authenticate_bearer("other")->name == "dave");

  auto carol = f.table->authenticate_cert(k_fp);
  REQUIRE(carol);
  CHECK(carol->name == "carol");
  CHECK(carol->clearance == tlp_level::clear);  // default: least privilege
  std::string upper_colons;
  for (std::size_t i = 0; i < k_fp.size(); i += 2) {
    if (i) upper_colons += ':';
    upper_colons += static_cast<char>(std::toupper(k_fp[i]));
    upper_colons += static_cast<char>(std::toupper(k_fp[i + 1]));
  }
  CHECK(f.table->authenticate_cert(upper_colons) == carol);
  CHECK_FALSE(f.table->authenticate_cert(std::string(64, '0')));
  CHECK_FALSE(f.table->authenticate_cert("not hex"));
}

TEST_CASE("a cached Basic credential skips the KDF") {
  fixture f;
  const auto before = scrypt_evaluations();
  REQUIRE(f.table->authenticate_basic("alice", "alice-pw"));
  CHECK(scrypt_evaluations() == before + 1);
  REQUIRE(f.table->authenticate_basic("alice", "alice-pw"));
  REQUIRE(f.table->authenticate_basic("alice", "alice-pw"));
  CHECK(scrypt_evaluations() == before + 1);
  // A wrong password is not cached and always pays.
  CHECK_FALSE(f.table->authenticate_basic("alice", "wrong"));
  CHECK_FALSE(f.table->authenticate_basic("alice", "wrong"));
  CHECK(scrypt_evaluations() == before + 3);
  // After a clear (config reload), the KDF runs again.
  f.table->cache().clear();
  REQUIRE(f.table->authenticate_basic("alice", "alice-pw"));
  CHECK(scrypt_evaluations() == before + 4);
}

TEST_CASE("an unknown account name costs a KDF like a wrong password") {
  fixture f;
  CHECK_FALSE(f.table->authenticate_basic("mallory", "x"));  // builds the decoy once
  const auto before = scrypt_evaluations();
  CHECK_FALSE(f.table->authenticate_basic("mallory", "x"));
  CHECK(scrypt_evaluations() == before + 1);
}

TEST_CASE("rights resolve ids, aliases, qualified names and *") {
  fixture f;
  const auto& t = *f.table;
  auto alice = t.find("alice");
  auto bob = t.find("bob");
  auto carol = t.find("carol");
  auto dave = t.find("dave");

  CHECK(t.resolve_collection("sharing", "indicators") == k_ind);
  CHECK(t.resolve_collection("sharing", k_ind) == k_ind);
  CHECK_FALSE(t.resolve_collection("lab", "indicators"));
  CHECK_FALSE(t.resolve_collection("nope", k_ind));

  // alice: read by alias, write by id.
  CHECK(t.can_read(*alice, "sharing", "indicators"));
  CHECK(t.can_read(*alice, "sharing", k_ind));
  CHECK_FALSE(t.can_read(*alice, "sharing", "reports"));
  CHECK(t.can_write(*alice, "sharing", "reports"));
  CHECK(t.can_write(*alice, "sharing", k_rep));
  CHECK_FALSE(t.can_write(*alice, "sharing", "indicators"));
  CHECK_FALSE(t.can_read(*alice, "lab", "samples"));
  CHECK_FALSE(t.can_read(*alice, "lab", k_ind));  // right id, wrong root
  CHECK(alice->can_read("sharing", k_ind));
  CHECK_FALSE(alice->can_read("sharing", "indicators"));  // account: ids only

  // bob: "*" reads everything, "sharing/*" writes only there.
  for (const auto& [root, c] : {std::pair{"sharing", "indicators"}, std::pair{"sharing", "reports"},
                                std::pair{"lab", "samples"}}) {
    CHECK(t.can_read(*bob, root, c));
  }
  CHECK(t.can_write(*bob, "sharing", "indicators"));
  CHECK(t.can_write(*bob, "sharing", "reports"));
  CHECK_FALSE(t.can_write(*bob, "lab", "samples"));
  CHECK_FALSE(t.can_read(*bob, "sharing", "no-such-collection"));

  // carol: one qualified collection; dave: nothing.
  CHECK(t.can_read(*carol, "lab", "samples"));
  CHECK(t.can_read(*carol, "lab", k_lab));
  CHECK_FALSE(t.can_write(*carol, "lab", "samples"));
  CHECK_FALSE(t.can_read(*dave, "sharing", "indicators"));
  CHECK_FALSE(t.can_read(*dave, "lab", "samples"));

  // As auditors, a read list other than "*" limits the records seen; "*"
  // and no list at all do not.
  CHECK(alice->audit_scoped);
  CHECK(carol->audit_scoped);
  CHECK_FALSE(bob->audit_scoped);
  CHECK_FALSE(dave->audit_scoped);
}

TEST_CASE("Authorization values parse into Basic or Bearer credentials") {
  auto b = parse_authorization(basic("alice:alice-pw"));
  REQUIRE(b);
  REQUIRE(std::holds_alternative<basic_credentials>(*b));
  CHECK(std::get<basic_credentials>(*b).user_id == "alice");
  CHECK(std::get<basic_credentials>(*b).password == "alice-pw");

  // Case-insensitive scheme, extra spaces, a ':' inside the password, UTF-8.
  auto c = parse_authorization("  bAsIc   " + base64_encode("j\xc3\xb6rg:a:b:c") + " ");
  REQUIRE(c);
  CHECK(std::get<basic_credentials>(*c).user_id == "j\xc3\xb6rg");
  CHECK(std::get<basic_credentials>(*c).password == "a:b:c");

  auto e = parse_authorization(basic("alice:"));
  REQUIRE(e);
  CHECK(std::get<basic_credentials>(*e).password.empty());

  auto t = parse_authorization("Bearer cairn_abc-DEF_123.~+/==");
  REQUIRE(t);
  REQUIRE(std::holds_alternative<bearer_credentials>(*t));
  CHECK(std::get<bearer_credentials>(*t).token == "cairn_abc-DEF_123.~+/==");
  CHECK(parse_authorization("bearer x"));

  // The OASIS taxii2-client's TokenAuth says "Token": the same API token.
  auto k = parse_authorization("Token cairn_abc-DEF_123");
  REQUIRE(k);
  REQUIRE(std::holds_alternative<bearer_credentials>(*k));
  CHECK(std::get<bearer_credentials>(*k).token == "cairn_abc-DEF_123");
}

TEST_CASE("malformed Authorization values are refused with a reason") {
  using E = authorization_error;
  const std::vector<std::pair<std::string, E>> cases = {
      {"", E::malformed},
      {"   ", E::malformed},
      {"Basic", E::malformed},
      {"Basic ", E::malformed},
      {"Basic !!!!", E::malformed},
      {"Basic dXNlcjpwYXNz=", E::malformed},                       // bad padding
      {"Basic dXNlcjpwYXM", E::malformed},                         // missing padding
      {"Basic dXNlcjpwYXN=", E::malformed},                        // non-canonical trailing bits
      {"Basic " + base64_encode("user"), E::malformed},            // no ':'
      {"Basic " + base64_encode(":pw"), E::malformed},             // empty user-id
      {"Basic dXNl cjpw", E::malformed},                           // space inside
      {"Basic\tdXNlcjpwYXNz", E::malformed},                       // tab as separator
      {"Basic " + base64_encode("us\x01r:pw"), E::malformed},      // control in user-id
      {"Basic " + base64_encode("user:p\nw"), E::malformed},       // control in password
      {"Basic " + base64_encode("user:\xff\xfe"), E::malformed},   // not UTF-8
      {"Basic " + base64_encode("us\xc0\xafr:pw"), E::malformed},  // overlong UTF-8
      {"Basic " + base64_encode(std::string("us\0r:pw", 7)), E::malformed},
      {"Basic " + base64_encode("\xfb\xffu:pw").replace(0, 2, "-_"), E::malformed},  // url alphabet
      {"Bearer", E::malformed},
      {"Bearer ", E::malformed},
      {"Bearer a b", E::malformed},
      {"Bearer ab=c", E::malformed},
      {"Bearer =", E::malformed},
      {"Bearer t\xc3\xb6ken", E::malformed},
      {"Bearer tok,en", E::malformed},
      {"B@sic abc", E::malformed},
      {"Digest username=\"x\"", E::unsupported_scheme},
      {"Negotiate abc", E::unsupported_scheme},
      {"Token", E::malformed},
      {"Token a b", E::malformed},
      {"ApiKey abc", E::unsupported_scheme},
      {"Basic " + std::string(5000, 'A'), E::too_long},
      {"Bearer " + std::string(2000, 'a'), E::too_long},
      {"Basic " + base64_encode(std::string(300, 'u') + ":pw"), E::too_long},
      {"Basic " + base64_encode("u:" + std::string(1100, 'p')), E::too_long},
  };
  for (const auto& [value, expected] : cases) {
    INFO(value);
    auto r = parse_authorization(value);
    REQUIRE_FALSE(r);
    CHECK(r.error() == expected);
  }
  CHECK(to_string(E::malformed) != to_string(E::unsupported_scheme));
}

TEST_CASE("an unknown name is checked at the cost most of the table's hashes have") {
  // Before: the decoy was always at the default cost (there was no
  // decoy_hash()), so with costlier hashes an unknown name answered faster
  // than a known one.
  const std::string salt_and_hash =
      "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto table_of = [&](const std::vector<std::string>& params) {
    std::string accounts;
    for (std::size_t i = 0; i < params.size(); ++i) {
      accounts += (i ? "," : "") + std::string(R"({"name": "u)") + std::to_string(i) +
                  R"(", "password_hash": "$scrypt$)" + params[i] + salt_and_hash + R"("})";
    }
    auto cfg = parse_config(R"({"listen": "127.0.0.1:0", "data_dir": "d",
      "tls": {"cert": "c", "key": "k"}, "discovery": {"title": "t"},
      "api_roots": {}, "accounts": [)" +
                                accounts + "]}",
                            "/");
    REQUIRE(cfg);
    return std::make_unique<account_table>(*cfg);
  };
  auto params_of = [](const account_table& t) {
    auto phc = parse_scrypt_phc(t.decoy_hash());
    REQUIRE(phc);
    return std::tuple(phc->params.log2_n, phc->params.r, phc->params.p);
  };
  CHECK(params_of(*table_of({"ln=15,r=8,p=1", "ln=15,r=8,p=1", "ln=14,r=8,p=1"})) ==
        std::tuple(15u, 8u, 1u));
  CHECK(params_of(*table_of({"ln=14,r=8,p=2"})) == std::tuple(14u, 8u, 2u));
  const auto d = default_scrypt_params();
  CHECK(params_of(*table_of({})) == std::tuple(d.log2_n, d.r, d.p));
  // No password verifies against it.
  auto t = table_of({"ln=14,r=8,p=1"});
  CHECK_FALSE(verify_secret("", t->decoy_hash()));
  CHECK_FALSE(t->authenticate_basic("nobody", "x"));
}

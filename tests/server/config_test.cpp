#include "server/config/config.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "server/config/credentials.hpp"
#include "tests/server/test_support.hpp"

using namespace cairn::server;

namespace {

const std::string k_root_id = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_other_id = "0d8f2b5e-7b1c-4e0a-8f3d-2a9c1b7e6d54";

// A valid scrypt hash at the cost the config requires, made once.
const std::string& test_hash() {
  return test::password_hash("correct horse");
}

std::string token_hash_a() {
  return token_hash("cairn_token_a");
}

// A complete, valid configuration; `replace` edits it textually.
std::string valid_config() {
  return R"({
  "listen": "127.0.0.1:8443",
  "data_dir": "./data",
  "tls": { "cert": "server.pem", "key": "server.key", "client_ca": "partners-ca.pem" },
  "limits": { "max_content_length": 10485760, "page_size": 1000, "max_connections": 4096,
              "request_timeout_s": 30, "idle_timeout_s": 60 },
  "discovery": { "title": "Example exchange", "description": "d", "contact": "soc@example.org",
                 "default": "sharing" },
  "api_roots": {
    "sharing": {
      "title": "Sharing group", "description": "...",
      "collections": [
        { "id": ")" +
         k_root_id + R"(", "title": "Indicators", "alias": "indicators",
          "description": "...", "default_tlp": "green" },
        { "id": ")" +
         k_other_id + R"(", "title": "Reports" }
      ]
    }
  },
  "accounts": [
    { "name": "acme", "password_hash": ")" +
         test_hash() + R"(", "token_hashes": [")" + token_hash_a() + R"("],
      "client_cert_sha256": "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      "read": ["indicators"], "write": [], "clearance": "green", "auditor": false },
    { "name": "auditor", "password_hash": ")" +
         test_hash() + R"(", "read": ["*"],
      "clearance": "amber+strict", "auditor": true }
  ]
})";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

std::vector<config_problem> problems_of(const std::string& text) {
  return check_config(text, "/etc/cairn");
}

// True if some problem is at exactly pointer and its message contains words.
bool has_problem(const std::vector<config_problem>& problems, const std::string& pointer,
                 const std::string& words = {}) {
  return std::any_of(problems.begin(), problems.end(), [&](const config_problem& p) {
    return p.pointer == pointer && p.message.find(words) != std::string::npos;
  });
}

std::string dump(const std::vector<config_problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.to_string() + "\n";
  return out;
}

}  // namespace

TEST_CASE("a valid config loads with every field") {
  auto cfg = parse_config(valid_config(), "/etc/cairn");
  INFO((cfg ? std::string() : dump(cfg.error())));
  REQUIRE(cfg);
  CHECK(cfg->listen.host == "127.0.0.1");
  CHECK(cfg->listen.port == 8443);
  CHECK(cfg->data_dir == "/etc/cairn/data");
  CHECK(cfg->tls.cert == "/etc/cairn/server.pem");
  CHECK(cfg->tls.key == "/etc/cairn/server.key");
  REQUIRE(cfg->tls.client_ca);
  CHECK(*cfg->tls.client_ca == "/etc/cairn/partners-ca.pem");
  CHECK_FALSE(cfg->tls.crl);
  CHECK(cfg->limits.max_content_length == 10485760);
  CHECK(cfg->limits.max_objects_per_request == 10000);  // optional key, default
  CHECK(cfg->limits.max_header_bytes == 16384);
  CHECK(cfg->discovery.title == "Example exchange");
  CHECK(cfg->discovery.default_root == "sharing");
  REQUIRE(cfg->api_roots.size() == 1);
  const auto& root = cfg->api_roots.at("sharing");
  REQUIRE(root.collections.size() == 2);
  CHECK(root.collections[0].alias == "indicators");
  CHECK(root.collections[0].default_tlp == cairn::formats::tlp_level::green);
  CHECK(root.collections[1].default_tlp == cairn::formats::tlp_level::amber);  // default
  CHECK_FALSE(root.collections[1].alias);
  REQUIRE(cfg->accounts.size() == 2);
  const auto& acme = cfg->accounts[0];
  CHECK(acme.name == "acme");
  CHECK(acme.password_hash == test_hash());
  CHECK(acme.token_hashes == std::vector<std::string>{token_hash_a()});
  CHECK(acme.client_cert_sha256 ==
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(acme.clearance == cairn::formats::tlp_level::green);
  CHECK_FALSE(acme.auditor);
  CHECK(cfg->accounts[1].auditor);
  CHECK(cfg->accounts[1].clearance == cairn::formats::tlp_level::amber_strict);
  CHECK(cfg->sha256 == sha256_hex(valid_config()));
  CHECK(cfg->find_collection("sharing", "indicators") == &root.collections[0]);
  CHECK(cfg->find_collection("sharing", k_other_id) == &root.collections[1]);
  CHECK(cfg->find_collection("sharing", "nope") == nullptr);
  CHECK(cfg->find_collection("nope", "indicators") == nullptr);
}

TEST_CASE("optional keys take their defaults and absolute paths stay absolute") {
  auto text = replace(valid_config(), R"("key": "server.key")", R"("key": "/keys/server.key")");
  text = replace(
      text,
      R"("limits": { "max_content_length": 10485760, "page_size": 1000, "max_connections": 4096,
              "request_timeout_s": 30, "idle_timeout_s": 60 },)",
      R"("storage": { "map_size": 1073741824 },)");
  auto cfg = parse_config(text, "/etc/cairn");
  INFO((cfg ? std::string() : dump(cfg.error())));
  REQUIRE(cfg);
  CHECK(cfg->tls.key == "/keys/server.key");
  CHECK(cfg->limits.page_size == 1000);
  CHECK(cfg->limits.idle_timeout_s == 60);
  CHECK(cfg->storage.map_size == 1073741824u);
  CHECK_FALSE(cfg->storage.max_map_size);
}

TEST_CASE("unknown keys are refused at every level") {
  auto p = problems_of(replace(valid_config(), R"("listen")", R"("listne": 1, "listen")"));
  CHECK(has_problem(p, "/listne", "unknown key"));

  p = problems_of(replace(valid_config(), R"("client_ca")", R"("clientca": "x", "client_ca")"));
  CHECK(has_problem(p, "/tls/clientca", "unknown key"));

  p = problems_of(replace(valid_config(), R"("page_size": 1000)", R"("pagesize": 1000)"));
  CHECK(has_problem(p, "/limits/pagesize", "unknown key"));

  p = problems_of(replace(valid_config(), R"("title": "Indicators")",
                          R"("title": "Indicators", "can_read": true)"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/0/can_read", "unknown key"));

  p = problems_of(replace(valid_config(), R"("clearance": "amber+strict")",
                          R"("clearance": "amber+strict", "admin": true)"));
  CHECK(has_problem(p, "/accounts/1/admin", "unknown key"));

  p = problems_of(
      replace(valid_config(), R"("default": "sharing")", R"("default": "sharing", "x~y/z": 1)"));
  CHECK(has_problem(p, "/discovery/x~0y~1z", "unknown key"));
}

TEST_CASE("missing required keys and wrong types are reported with their pointers") {
  auto p = problems_of(replace(valid_config(), R"("listen": "127.0.0.1:8443",)", ""));
  CHECK(has_problem(p, "/listen", "required"));

  p = problems_of(replace(valid_config(), R"("cert": "server.pem", )", ""));
  CHECK(has_problem(p, "/tls/cert", "required"));

  p = problems_of(replace(valid_config(), R"("title": "Sharing group", )", ""));
  CHECK(has_problem(p, "/api_roots/sharing/title", "required"));

  p = problems_of(replace(valid_config(), R"("page_size": 1000)", R"("page_size": "1000")"));
  CHECK(has_problem(p, "/limits/page_size", "whole number"));

  p = problems_of(replace(valid_config(), R"("page_size": 1000)", R"("page_size": 0)"));
  CHECK(has_problem(p, "/limits/page_size", "between"));

  p = problems_of(replace(valid_config(), R"("auditor": true)", R"("auditor": "yes")"));
  CHECK(has_problem(p, "/accounts/1/auditor", "boolean"));

  p = problems_of(replace(valid_config(), R"("read": ["*"])", R"("read": "*")"));
  CHECK(has_problem(p, "/accounts/1/read", "array"));

  p = problems_of(replace(valid_config(), R"("read": ["*"])", R"("read": ["*", 3])"));
  CHECK(has_problem(p, "/accounts/1/read/1", "string"));

  p = problems_of(replace(valid_config(), R"("data_dir": "./data")", R"("data_dir": "")"));
  CHECK(has_problem(p, "/data_dir", "empty"));

  p = problems_of("[1, 2]");
  CHECK(has_problem(p, "", "object"));

  p = problems_of("{\"listen\": ");
  REQUIRE(p.size() == 1);
  CHECK(p[0].message.find("not valid JSON") != std::string::npos);
}

TEST_CASE("several problems are all reported at once") {
  auto text = replace(valid_config(), R"("clearance": "green")", R"("clearance": "purple")");
  text = replace(text, R"("listen": "127.0.0.1:8443")", R"("listen": "127.0.0.1")");
  auto p = problems_of(text);
  CHECK(has_problem(p, "/accounts/0/clearance", "one of"));
  CHECK(has_problem(p, "/listen", "host:port"));
  CHECK(p.size() == 2);
}

TEST_CASE("listen must parse") {
  CHECK(parse_listen("127.0.0.1:8443"));
  CHECK(parse_listen("0.0.0.0:0")->port == 0);
  auto v6 = parse_listen("[::1]:443");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 443);
  CHECK(parse_listen("localhost:8443")->host == "localhost");
  CHECK(parse_listen("taxii.example.org:443"));
  CHECK_FALSE(parse_listen("127.0.0.1"));
  CHECK_FALSE(parse_listen("127.0.0.1:"));
  CHECK_FALSE(parse_listen("127.0.0.1:65536"));
  CHECK_FALSE(parse_listen("127.0.0.1:-1"));
  CHECK_FALSE(parse_listen("127.0.0.1:08443"));
  CHECK_FALSE(parse_listen("127.0.0.1:84x3"));
  CHECK_FALSE(parse_listen("300.0.0.1:8443"));
  CHECK_FALSE(parse_listen("::1:8443"));
  CHECK_FALSE(parse_listen("[::g]:8443"));
  CHECK_FALSE(parse_listen("[::1]8443"));
  CHECK_FALSE(parse_listen(":8443"));
  CHECK_FALSE(parse_listen("bad_host:8443"));
  CHECK_FALSE(parse_listen("-bad.example:8443"));

  auto p = problems_of(replace(valid_config(), "127.0.0.1:8443", "127.0.0.1:99999"));
  CHECK(has_problem(p, "/listen", "port"));
}

TEST_CASE("API root names must be URL-path-safe") {
  CHECK(is_valid_api_root_name("sharing"));
  CHECK(is_valid_api_root_name("api-1.v2_x~y"));
  CHECK_FALSE(is_valid_api_root_name(""));
  CHECK_FALSE(is_valid_api_root_name("a/b"));
  CHECK_FALSE(is_valid_api_root_name("a b"));
  CHECK_FALSE(is_valid_api_root_name("a%20b"));
  CHECK_FALSE(is_valid_api_root_name(".."));
  CHECK_FALSE(is_valid_api_root_name("taxii2"));
  CHECK_FALSE(is_valid_api_root_name("cairn"));
  CHECK_FALSE(is_valid_api_root_name(std::string(65, 'a')));

  auto text = replace(valid_config(), R"("sharing": {)", R"("shar ing": {)");
  auto p = problems_of(text);
  CHECK(has_problem(p, "/api_roots/shar ing", "API root names"));
  // The default then names no root either.
  CHECK(has_problem(p, "/discovery/default", "no API root"));
}

TEST_CASE("discovery.default must name an API root") {
  auto p = problems_of(replace(valid_config(), R"("default": "sharing")", R"("default": "other")"));
  CHECK(has_problem(p, "/discovery/default", "no API root"));
}

TEST_CASE("collection ids, aliases and TLP defaults are checked") {
  auto p = problems_of(replace(valid_config(), k_other_id, k_root_id));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/id", "duplicate collection id"));

  p = problems_of(replace(valid_config(), k_other_id, "0d8f2b5e-7b1c-1e0a-8f3d-2a9c1b7e6d54"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/id", "UUIDv4"));

  p = problems_of(replace(valid_config(), k_other_id, "0D8F2B5E-7B1C-4E0A-8F3D-2A9C1B7E6D54"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/id", "lower-case"));

  p = problems_of(replace(valid_config(), R"("title": "Reports")",
                          R"("title": "Reports", "alias": "indicators")"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/alias", "duplicate alias"));

  p = problems_of(
      replace(valid_config(), R"("title": "Reports")", R"("title": "Reports", "alias": "a/b")"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/alias", "aliases must"));

  p = problems_of(replace(valid_config(), R"("title": "Reports")",
                          R"("title": "Reports", "alias": ")" + k_root_id + "\""));
  CHECK(has_problem(p, "/api_roots/sharing/collections/1/alias", "equals the id"));

  p = problems_of(replace(valid_config(), R"("default_tlp": "green")", R"("default_tlp": "blue")"));
  CHECK(has_problem(p, "/api_roots/sharing/collections/0/default_tlp", "one of"));

  auto cfg = parse_config(
      replace(valid_config(), R"("default_tlp": "green")", R"("default_tlp": "WHITE")"), "/");
  REQUIRE(cfg);
  CHECK(cfg->api_roots.at("sharing").collections[0].default_tlp ==
        cairn::formats::tlp_level::clear);
}

TEST_CASE("account names, hashes and fingerprints are checked") {
  auto p = problems_of(replace(valid_config(), R"("name": "auditor")", R"("name": "acme")"));
  CHECK(has_problem(p, "/accounts/1/name", "duplicate account name"));

  p = problems_of(replace(valid_config(), R"("name": "auditor")", R"("name": "a:b")"));
  CHECK(has_problem(p, "/accounts/1/name", "account names"));

  p = problems_of(
      replace(valid_config(), R"("clearance": "amber+strict")", R"("clearance": "secret")"));
  CHECK(has_problem(p, "/accounts/1/clearance", "one of"));

  // The second account's password hash is the second occurrence.
  auto text = valid_config();
  const auto second = text.find(test_hash(), text.find(test_hash()) + 1);
  text.replace(second, test_hash().size(),
               "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA");
  p = problems_of(text);
  CHECK(has_problem(p, "/accounts/1/password_hash", "ln"));

  p = problems_of(replace(valid_config(), test_hash(), "plaintext"));
  CHECK(has_problem(p, "/accounts/0/password_hash", "PHC"));

  p = problems_of(replace(valid_config(), token_hash_a(), "$scrypt$ln=14"));
  CHECK(has_problem(p, "/accounts/0/token_hashes/0", "$sha256$"));

  p = problems_of(replace(valid_config(), "\"" + token_hash_a() + "\"",
                          "\"" + token_hash_a() + "\", \"" + token_hash_a() + "\""));
  CHECK(has_problem(p, "/accounts/0/token_hashes/1", "duplicate token hash"));

  p = problems_of(replace(valid_config(), "AB:CD:EF:01", "AB:CD:EF:0G"));
  CHECK(has_problem(p, "/accounts/0/client_cert_sha256", "SHA-256 fingerprint"));

  p = problems_of(replace(valid_config(), R"(, "client_ca": "partners-ca.pem")", ""));
  CHECK(has_problem(p, "/accounts/0/client_cert_sha256", "client_ca"));

  p = problems_of(replace(valid_config(),
                          R"("name": "auditor", "password_hash": ")" + test_hash() + "\",",
                          R"("name": "auditor",)"));
  CHECK(has_problem(p, "/accounts/1", "no credential"));
}

TEST_CASE("read and write must name existing collections") {
  auto p = problems_of(replace(valid_config(), R"("read": ["indicators"])",
                               R"("read": ["indicators", "indicatorz"])"));
  CHECK(has_problem(p, "/accounts/0/read/1", "names no collection"));

  p = problems_of(replace(valid_config(), R"("write": [])", R"("write": ["sharing/nope"])"));
  CHECK(has_problem(p, "/accounts/0/write/0", "no collection of API root"));

  p = problems_of(replace(valid_config(), R"("write": [])", R"("write": ["other/*"])"));
  CHECK(has_problem(p, "/accounts/0/write/0", "no API root"));

  // Ids, aliases, qualified names and "*" are all fine.
  auto cfg = parse_config(
      replace(valid_config(), R"("write": [])",
              R"("write": [")" + k_other_id + R"(", "sharing/indicators", "sharing/*", "*"])"),
      "/");
  INFO((cfg ? std::string() : dump(cfg.error())));
  CHECK(cfg);
}

TEST_CASE("a bare alias in two API roots is ambiguous") {
  auto text = replace(valid_config(), R"("api_roots": {)", R"("api_roots": {
    "second": { "title": "Second", "collections": [
      { "id": "7a0c5e2d-3b4f-4a6b-9c8d-1e2f3a4b5c6d", "title": "Other indicators",
        "alias": "indicators" } ] },)");
  auto p = problems_of(text);
  CHECK(has_problem(p, "/accounts/0/read/0", "more than one API root"));
  text = replace(text, R"("read": ["indicators"])", R"("read": ["second/indicators"])");
  CHECK(problems_of(text).empty());
}

TEST_CASE("limits and storage are range-checked") {
  auto p = problems_of(replace(valid_config(), R"("idle_timeout_s": 60)",
                               R"("idle_timeout_s": 60, "max_json_depth": 100000)"));
  CHECK(has_problem(p, "/limits/max_json_depth", "between"));

  p = problems_of(replace(valid_config(), R"("max_content_length": 10485760)",
                          R"("max_content_length": 10.5)"));
  CHECK(has_problem(p, "/limits/max_content_length", "whole number"));

  p = problems_of(replace(valid_config(), R"("accounts": [)",
                          R"("storage": {"map_size": 4294967296, "max_map_size": 1073741824},
                             "accounts": [)"));
  CHECK(has_problem(p, "/storage/map_size", "max_map_size"));

  p = problems_of(
      replace(valid_config(), R"("client_ca": "partners-ca.pem")", R"("crl": "x.crl")"));
  CHECK(has_problem(p, "/tls/crl", "client_ca"));
}

TEST_CASE("limits.max_page_bytes is a known key, range-checked") {
  // Before: "unknown key" for every value.
  auto with = [](const std::string& value) {
    return problems_of(replace(valid_config(), R"("idle_timeout_s": 60)",
                               R"("idle_timeout_s": 60, "max_page_bytes": )" + value));
  };
  auto ok = with("65536");
  INFO(dump(ok));
  CHECK(ok.empty());
  CHECK(with("1073741824").empty());
  CHECK(has_problem(with("100"), "/limits/max_page_bytes", "between"));
  CHECK(has_problem(with("1073741825"), "/limits/max_page_bytes", "between"));
  CHECK(has_problem(with("\"16MiB\""), "/limits/max_page_bytes", "whole number"));
  auto cfg = parse_config(replace(valid_config(), R"("idle_timeout_s": 60)",
                                  R"("idle_timeout_s": 60, "max_page_bytes": 65536)"),
                          "/etc/cairn");
  REQUIRE(cfg);
  CHECK(cfg->limits.max_page_bytes == 65536u);
  auto defaults = parse_config(valid_config(), "/etc/cairn");
  REQUIRE(defaults);
  CHECK(defaults->limits.max_page_bytes == 16u << 20);
}

TEST_CASE("load_config resolves paths against the file's folder and reports problems") {
  test::temp_dir dir;
  std::filesystem::create_directories(dir / "conf");
  test::write_text(dir / "conf" / "cairn.json", valid_config());
  auto cfg = load_config(dir / "conf" / "cairn.json");
  REQUIRE(cfg);
  CHECK(cfg->data_dir == (dir.path() / "conf" / "data").lexically_normal());
  CHECK(cfg->tls.cert == (dir.path() / "conf" / "server.pem").lexically_normal());
  CHECK(cfg->sha256 == sha256_hex(valid_config()));
  CHECK(cfg->source == dir / "conf" / "cairn.json");

  test::write_text(dir / "bad.json",
                   replace(valid_config(), R"("clearance": "green")", R"("clearance": "x")"));
  auto bad = load_config(dir / "bad.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().where == "/accounts/0/clearance");
  CHECK(bad.error().message.find("/accounts/0/clearance: must be one of") != std::string::npos);

  auto missing = load_config(dir / "missing.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot open") != std::string::npos);

  CHECK(check_config_file(dir / "conf" / "cairn.json").empty());
  CHECK(check_config_file(dir / "missing.json").size() == 1);
}

TEST_CASE("fingerprints are normalised") {
  const std::string lower(64, 'a');
  CHECK(normalize_fingerprint(std::string(64, 'A')) == lower);
  CHECK(normalize_fingerprint(lower) == lower);
  CHECK_FALSE(normalize_fingerprint(std::string(63, 'a')));
  CHECK_FALSE(normalize_fingerprint(std::string(64, 'g')));
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += (i ? ":" : "") + std::string("aA");
  CHECK(normalize_fingerprint(colons) == lower);
  colons[2] = '-';
  CHECK_FALSE(normalize_fingerprint(colons));
}

TEST_CASE("password hashes cheaper than `cairnd hash-secret` makes them are refused") {
  // Well-formed PHC strings (16-byte salt, 32-byte hash) at low costs. Before:
  // accepted, and such an account answered a wrong password about 100 times
  // faster than an unknown name, so it could be found by timing.
  const std::string salt_and_hash =
      "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  for (const std::string params : {"ln=10,r=1,p=1", "ln=10,r=8,p=1", "ln=13,r=8,p=1"}) {
    INFO(params);
    auto text = valid_config();
    const auto second = text.find(test_hash(), text.find(test_hash()) + 1);
    text.replace(second, test_hash().size(), "$scrypt$" + params + salt_and_hash);
    auto p = problems_of(text);
    CHECK(has_problem(p, "/accounts/1/password_hash", "hash-secret"));
    CHECK(p.size() == 1);
  }
  // The cost hash-secret writes, and an equal one, are fine.
  CHECK(problems_of(replace(valid_config(), test_hash(), "$scrypt$ln=14,r=8,p=1" + salt_and_hash))
            .empty());
  CHECK(problems_of(replace(valid_config(), test_hash(), "$scrypt$ln=15,r=4,p=1" + salt_and_hash))
            .empty());
}

TEST_CASE("limits.max_connections_per_address is an optional, range-checked limit") {
  // Before: "unknown key".
  auto cfg = parse_config(replace(valid_config(), R"("idle_timeout_s": 60)",
                                  R"("idle_timeout_s": 60, "max_connections_per_address": 8)"),
                          "/");
  REQUIRE(cfg);
  CHECK(cfg->limits.max_connections_per_address == 8);
  auto defaults = parse_config(valid_config(), "/");
  REQUIRE(defaults);
  CHECK(defaults->limits.max_connections_per_address == 256);
  for (const char* bad : {"0", "1000001", "-1", "2.5", "\"8\""}) {
    INFO(bad);
    auto p = problems_of(
        replace(valid_config(), R"("idle_timeout_s": 60)",
                R"("idle_timeout_s": 60, "max_connections_per_address": )" + std::string(bad)));
    CHECK(p.size() == 1);
    CHECK((has_problem(p, "/limits/max_connections_per_address", "between") ||
           has_problem(p, "/limits/max_connections_per_address", "whole number")));
  }
}

namespace {

// valid_config() with a storage object.
std::string with_storage(const std::string& storage_json) {
  return replace(valid_config(), R"("accounts": [)", R"("storage": )" + storage_json + R"(,
  "accounts": [)");
}

}  // namespace

TEST_CASE("storage.backend defaults to lmdb and selects postgresql with its keys") {
  auto lmdb = parse_config(valid_config(), "/etc/cairn");
  REQUIRE(lmdb);
  CHECK(lmdb->storage.backend == storage_backend::lmdb);
  auto explicit_lmdb =
      parse_config(with_storage(R"({"backend": "lmdb", "max_map_size": 2097152})"), "/etc/cairn");
  REQUIRE(explicit_lmdb);
  CHECK(explicit_lmdb->storage.backend == storage_backend::lmdb);
  CHECK(explicit_lmdb->storage.max_map_size == 2097152u);

  auto pg = parse_config(with_storage(R"({"backend": "postgresql",
      "conninfo": "host=127.0.0.1 port=5432 dbname=cairn user=cairn",
      "password_file": "pg.pw", "pool_size": 16})"),
                         "/etc/cairn");
  INFO((pg ? std::string() : dump(pg.error())));
  REQUIRE(pg);
  CHECK(pg->storage.backend == storage_backend::postgresql);
  CHECK(pg->storage.conninfo == "host=127.0.0.1 port=5432 dbname=cairn user=cairn");
  REQUIRE(pg->storage.password_file);
  CHECK(*pg->storage.password_file == "/etc/cairn/pg.pw");  // beside the config
  CHECK(pg->storage.pool_size == 16);
  CHECK_FALSE(pg->storage.map_size);

  auto defaults = parse_config(
      with_storage(R"({"backend": "postgresql", "conninfo": "postgresql://cairn@db/cairn"})"), "/");
  REQUIRE(defaults);
  CHECK(defaults->storage.pool_size == 8);
  CHECK_FALSE(defaults->storage.password_file);
}

TEST_CASE("storage keys are checked against the backend") {
  // Before: backend, conninfo, password_file and pool_size were unknown keys.
  auto p = problems_of(with_storage(R"({"backend": "postgresql"})"));
  CHECK(has_problem(p, "/storage/conninfo", "required"));

  p = problems_of(with_storage(R"({"backend": "mysql", "conninfo": "x=y"})"));
  CHECK(has_problem(p, "/storage/backend", "\"lmdb\" or \"postgresql\""));

  // A key of the other backend is an error, not silently ignored.
  p = problems_of(with_storage(R"({"conninfo": "host=db", "pool_size": 4})"));
  CHECK(has_problem(p, "/storage/conninfo", "only to backend \"postgresql\""));
  CHECK(has_problem(p, "/storage/pool_size", "only to backend \"postgresql\""));
  p = problems_of(with_storage(R"({"backend": "lmdb", "password_file": "pw"})"));
  CHECK(has_problem(p, "/storage/password_file", "only to backend \"postgresql\""));
  p = problems_of(
      with_storage(R"({"backend": "postgresql", "conninfo": "host=db", "map_size": 1048576,
                       "max_map_size": 1048576})"));
  CHECK(has_problem(p, "/storage/map_size", "only to backend \"lmdb\""));
  CHECK(has_problem(p, "/storage/max_map_size", "only to backend \"lmdb\""));

  for (const char* bad : {"0", "257", "-1", "\"8\""}) {
    INFO(bad);
    p = problems_of(with_storage(R"({"backend": "postgresql", "conninfo": "host=db",
                                     "pool_size": )" +
                                 std::string(bad) + "}"));
    CHECK(p.size() == 1);
    CHECK((has_problem(p, "/storage/pool_size", "between") ||
           has_problem(p, "/storage/pool_size", "whole number")));
  }
  CHECK(problems_of(with_storage(R"({"backend": "postgresql", "conninfo": "host=db",
                                     "pool_size": 256})"))
            .empty());
  p = problems_of(with_storage(R"({"backend": "postgresql", "conninfo": "host=db",
                                   "password_file": ""})"));
  CHECK(has_problem(p, "/storage/password_file", "empty"));
}

TEST_CASE("a conninfo holding a password is refused") {
  auto pg = [](const std::string& conninfo) {
    return problems_of(
        with_storage(R"({"backend": "postgresql", "conninfo": ")" + conninfo + R"("})"));
  };
  for (const char* bad :
       {"host=db password=secret", "password = secret host=db", "host=db password='a b'",
        "  password=''", "postgresql://cairn:secret@db/cairn", "postgres://cairn:@db:5432",
        "postgresql://db/cairn?sslmode=require&password=secret",
        "postgresql://db/cairn?%70assword=secret"}) {
    INFO(bad);
    auto p = pg(bad);
    CHECK(p.size() == 1);
    CHECK(has_problem(p, "/storage/conninfo", "password_file"));
    // The refusal never repeats the secret.
    for (const auto& problem : p) CHECK(problem.message.find("secret") == std::string::npos);
  }
  // Names that merely contain "password" are not one, nor is libpq's passfile.
  for (const char* good :
       {"host=db user=password", "host=db passfile=/etc/cairn/pgpass",
        "host=db application_name='password=x'", "dbname=cairn options='-c a\\\\'password=b'",
        "postgresql://cairn@db:5432/cairn?sslmode=verify-full", "postgresql://db/pass:word"}) {
    INFO(good);
    auto p = pg(good);
    INFO(dump(p));
    CHECK(p.empty());
  }
  // Not a connection string at all.
  for (const char* bad : {"host", "host=db port", "host='db", "=db"}) {
    INFO(bad);
    CHECK(has_problem(pg(bad), "/storage/conninfo", "not a libpq connection string"));
  }
}

namespace {

std::string with_monitoring(const std::string& monitoring_json) {
  return replace(valid_config(), R"("accounts": [)", R"("monitoring": )" + monitoring_json + R"(,
  "accounts": [)");
}

}  // namespace

TEST_CASE("monitoring: absent or empty, every rule has INTERFACE.md's default") {
  for (const auto& text : {valid_config(), with_monitoring("{}")}) {
    auto cfg = parse_config(text, "/etc/cairn");
    REQUIRE(cfg);
    const auto& m = cfg->monitoring;
    CHECK(m.enabled);
    CHECK(m.auth_failure_burst == monitoring_config::burst{10, 60});
    CHECK(m.denied_burst == monitoring_config::burst{20, 60});
    CHECK(m.prefix_v4 == 24);
    CHECK(m.prefix_v6 == 48);
    CHECK(m.memory_days == 30);
    CHECK(m.volume_factor == 10);
    CHECK(m.volume_min_objects == 10000);
    CHECK(m.volume_window_s == 3600);
    CHECK(m.volume_baseline_days == 7);
    CHECK(m.auto_suspend == std::vector<std::string>{"auth-failure-burst"});
    CHECK_FALSE(m.webhook);
    for (const auto& a : cfg->accounts) CHECK_FALSE(a.suspended);
  }
}

TEST_CASE("monitoring: every key of INTERFACE.md's example, and enabled false") {
  auto cfg = parse_config(with_monitoring(R"({
    "enabled": false,
    "auth_failure_burst": { "count": 5, "window_s": 30 },
    "denied_burst":       { "count": 7, "window_s": 120 },
    "new_address":        { "prefix_v4": 16, "prefix_v6": 56, "memory_days": 90 },
    "volume":             { "factor": 2.5, "min_objects": 500, "window_s": 600, "baseline_days": 14 },
    "auto_suspend":       ["auth-failure-burst", "volume"],
    "webhook":            { "url": "https://siem.example.org/hooks/cairn", "cacert": "siem-ca.pem",
                            "token_file": "hook.token" }
  })"),
                          "/etc/cairn");
  INFO((cfg ? std::string() : dump(cfg.error())));
  REQUIRE(cfg);
  const auto& m = cfg->monitoring;
  CHECK_FALSE(m.enabled);
  CHECK(m.auth_failure_burst == monitoring_config::burst{5, 30});
  CHECK(m.denied_burst == monitoring_config::burst{7, 120});
  CHECK(m.prefix_v4 == 16);
  CHECK(m.prefix_v6 == 56);
  CHECK(m.memory_days == 90);
  CHECK(m.volume_factor == 2.5);
  CHECK(m.volume_min_objects == 500);
  CHECK(m.volume_window_s == 600);
  CHECK(m.volume_baseline_days == 14);
  CHECK(m.auto_suspend == std::vector<std::string>{"auth-failure-burst", "volume"});
  REQUIRE(m.webhook);
  CHECK(m.webhook->url == "https://siem.example.org/hooks/cairn");
  CHECK(m.webhook->cacert == std::filesystem::path("/etc/cairn/siem-ca.pem"));
  CHECK(m.webhook->token_file == std::filesystem::path("/etc/cairn/hook.token"));

  // Some keys of a rule: the others keep their defaults; no auto_suspend.
  auto partial = parse_config(
      with_monitoring(R"({"denied_burst": {"count": 3}, "auto_suspend": []})"), "/etc/cairn");
  REQUIRE(partial);
  CHECK(partial->monitoring.denied_burst == monitoring_config::burst{3, 60});
  CHECK(partial->monitoring.auto_suspend.empty());
}

TEST_CASE("monitoring: mistakes are problems with their JSON pointers") {
  auto p = problems_of(with_monitoring(R"({
    "enabled": "no",
    "auth_failure_burst": { "count": 0, "windows": 60 },
    "denied_burst": 5,
    "new_address": { "prefix_v4": 33, "prefix_v6": 0 },
    "volume": { "factor": 0.5, "min_objects": -1, "window_s": 10 },
    "auto_suspend": ["auth-failure-burst", "brute-force", 3],
    "webhook": { "url": "http://siem.example.org/hook", "secret": "x" },
    "typo": 1
  })"));
  INFO(dump(p));
  CHECK(has_problem(p, "/monitoring/enabled", "must be"));
  CHECK(has_problem(p, "/monitoring/auth_failure_burst/count", "between 1 and"));
  CHECK(has_problem(p, "/monitoring/auth_failure_burst/windows", "unknown key"));
  CHECK(has_problem(p, "/monitoring/denied_burst", "must be"));
  CHECK(has_problem(p, "/monitoring/new_address/prefix_v4", "between 1 and 32"));
  CHECK(has_problem(p, "/monitoring/new_address/prefix_v6", "between 1 and 128"));
  CHECK(has_problem(p, "/monitoring/volume/factor", "between 1 and"));
  CHECK(has_problem(p, "/monitoring/volume/min_objects", "between"));
  CHECK(has_problem(p, "/monitoring/volume/window_s", "between 60 and"));
  CHECK(has_problem(p, "/monitoring/auto_suspend/1", "alert kind"));
  CHECK(has_problem(p, "/monitoring/auto_suspend/2", "must be"));
  CHECK(has_problem(p, "/monitoring/webhook/url", "https://"));
  CHECK(has_problem(p, "/monitoring/webhook/secret", "unknown key"));
  CHECK(has_problem(p, "/monitoring/typo", "unknown key"));

  auto no_url = problems_of(with_monitoring(R"({"webhook": {"token_file": "t"}})"));
  CHECK(has_problem(no_url, "/monitoring/webhook/url", "required"));
  auto user_info =
      problems_of(with_monitoring(R"({"webhook": {"url": "https://u:pw@siem.example.org/h"}})"));
  CHECK(has_problem(user_info, "/monitoring/webhook/url", "user information"));
  auto no_host = problems_of(with_monitoring(R"({"webhook": {"url": "https:///hook"}})"));
  CHECK(has_problem(no_host, "/monitoring/webhook/url", "host"));
  auto upper = parse_config(
      with_monitoring(R"({"webhook": {"url": "HTTPS://siem.example.org/h"}})"), "/etc/cairn");
  CHECK(upper);
}

TEST_CASE("accounts: suspended is an optional boolean") {
  auto cfg = parse_config(replace(valid_config(), R"("clearance": "green", "auditor": false })",
                                  R"("clearance": "green", "auditor": false, "suspended": true })"),
                          "/etc/cairn");
  REQUIRE(cfg);
  CHECK(cfg->accounts[0].suspended);
  CHECK_FALSE(cfg->accounts[1].suspended);
  auto p = problems_of(replace(valid_config(), R"("auditor": false })",
                               R"("auditor": false, "suspended": "yes" })"));
  CHECK(has_problem(p, "/accounts/0/suspended", "must be"));
}

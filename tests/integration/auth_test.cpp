// Partner identity and abuse limits against the real cairnd: the negative
// cases of Basic, Bearer and client certificates, certificate verification
// (chain, dates, CRL, key, purpose), and the throttles seen over the wire.
//
// A presented client certificate that does not verify fails the TLS
// handshake: no request is read on such a connection, so it cannot fall
// back to a password or token either (see tls.hpp). A certificate that
// verifies but belongs to no account gets 401 like any unknown credential.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "server/config/credentials.hpp"
#include "server/transport/tls.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const std::string k_bot_token = "cairn_test_token_0123456789abcdef0123456789";

clients::http_response get(clients::taxii_client& c, const std::string& target,
                           clients::header_list headers = {}) {
  headers.emplace_back("Accept", "application/taxii+json;version=2.1");
  auto r = c.request("GET", target, headers);
  REQUIRE(r);
  return std::move(*r);
}

void check_401(const clients::http_response& r) {
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").value_or("") == "Basic realm=\"cairn\"");
  CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto d = formats::parse_json(r.body);
  REQUIRE(d);
  CHECK(d->root().get("http_status")->as_string() == "401");
}

void check_429(const clients::http_response& r) {
  CHECK(r.status == 429);
  const auto retry = r.header("Retry-After");
  REQUIRE(retry);
  CHECK(std::stoi(*retry) >= 1);
  CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto d = formats::parse_json(r.body);
  REQUIRE(d);
  CHECK(d->root().get("http_status")->as_string() == "429");
}

clients::taxii_client anonymous(const test_server& srv) {
  auto o = srv.options("admin");
  o.user.clear();
  o.password.clear();
  o.token.clear();
  auto c = clients::taxii_client::make(o);
  REQUIRE(c);
  return std::move(*c);
}

std::string b64(const std::string& s) {
  return formats::base64_encode(s);
}

// --- a small PKI --------------------------------------------------------------

server::issued_certificate issue(const std::string& cn, const server::issued_certificate* ca,
                                 bool is_ca = false, bool client = true) {
  server::certificate_spec spec;
  spec.common_name = cn;
  spec.is_ca = is_ca;
  spec.server_auth = !client && !is_ca;
  spec.client_auth = client && !is_ca;
  auto c = server::issue_certificate(spec, ca);
  REQUIRE(c);
  return std::move(*c);
}

// Moves the validity window of cert by the given days and re-signs it with
// the issuer's key.
void shift_validity(server::issued_certificate& cert, const server::issued_certificate& ca,
                    long not_before_days, long not_after_days) {
  REQUIRE(X509_time_adj_ex(X509_getm_notBefore(cert.cert()), static_cast<int>(not_before_days), 0,
                           nullptr));
  REQUIRE(X509_time_adj_ex(X509_getm_notAfter(cert.cert()), static_cast<int>(not_after_days), 0,
                           nullptr));
  REQUIRE(X509_sign(cert.cert(), ca.key(), EVP_sha256()) > 0);
}

std::string crl_pem(const server::issued_certificate& ca, const std::vector<const X509*>& revoked) {
  X509_CRL* crl = X509_CRL_new();
  REQUIRE(crl);
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert()));
  ASN1_TIME* t = ASN1_TIME_new();
  X509_gmtime_adj(t, -3600);
  X509_CRL_set1_lastUpdate(crl, t);
  X509_gmtime_adj(t, 7 * 24 * 3600);
  X509_CRL_set1_nextUpdate(crl, t);
  for (const X509* cert : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(cert)));
    X509_gmtime_adj(t, -60);
    X509_REVOKED_set_revocationDate(r, t);
    X509_CRL_add0_revoked(crl, r);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  REQUIRE(X509_CRL_sign(crl, ca.key(), EVP_sha256()) > 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  X509_CRL_free(crl);
  return pem;
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

struct pki {
  server::issued_certificate ca = issue("Partners CA", nullptr, true);
  server::issued_certificate partner = issue("partner", &ca);
  server::issued_certificate orphan = issue("orphan", &ca);  // maps to no account
  server::issued_certificate revoked = issue("revoked", &ca);
  server::issued_certificate expired = issue("expired", &ca);
  server::issued_certificate early = issue("not yet valid", &ca);
  server::issued_certificate server_only = issue("server only", &ca, false, false);
  server::issued_certificate stranger_ca = issue("Stranger CA", nullptr, true);
  server::issued_certificate stranger = issue("stranger", &stranger_ca);
  // The partners CA's name on another key: a forgery.
  server::issued_certificate forger_ca = issue("Partners CA", nullptr, true);
  server::issued_certificate forged = issue("partner", &forger_ca);
  server::issued_certificate self_signed = issue("partner", nullptr);

  pki() {
    shift_validity(expired, ca, -30, -1);
    shift_validity(early, ca, 2, 30);
  }
};

// The default accounts, plus one account per certificate: each bad
// certificate is mapped to an account, so that only its verification can
// stop it.
server_setup cert_setup(const pki& p) {
  auto s = default_setup();
  s.tls_json = R"("client_ca": "ca.pem", "crl": "ca.crl")";
  auto add = [&](const std::string& name, const server::issued_certificate& c) {
    s.accounts.push_back({name, {}, {"intel"}, {}, "green", false, {}, c.sha256()});
  };
  add("partner", p.partner);
  add("revoked", p.revoked);
  add("expired", p.expired);
  add("early", p.early);
  add("server-only", p.server_only);
  add("stranger", p.stranger);
  add("forged", p.forged);
  add("self-signed", p.self_signed);
  s.limits_json = R"("auth_failure_burst_per_address": 1000)";
  return s;
}

clients::client_options with_cert(const test_server& srv, const server::issued_certificate& c,
                                  const std::string& name) {
  const auto cert = srv.dir() / (name + ".pem");
  const auto key = srv.dir() / (name + ".key");
  REQUIRE(server::write_certificate_files(c, cert, key));
  auto o = srv.options("admin");
  o.user.clear();
  o.password.clear();
  o.client_cert_file = cert.string();
  o.client_key_file = key.string();
  return o;
}

}  // namespace

TEST_CASE("authentication: every negative case is a 401 with a challenge", "[auth]") {
  pki p;
  test_server srv(cert_setup(p), false);
  write_text(srv.dir() / "ca.pem", p.ca.cert_pem());
  write_text(srv.dir() / "ca.crl", crl_pem(p.ca, {p.revoked.cert()}));
  srv.start();
  auto anon = anonymous(srv);
  auto auth = [](const std::string& value) {
    return clients::header_list{{"Authorization", value}};
  };

  // 1. no credentials
  check_401(get(anon, "/taxii2/"));
  // 2. wrong password
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("admin:wrong"))));
  // 3. unknown account
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("mallory:admin-password"))));
  // 4. a password of another account
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("reader:admin-password"))));
  // 5. empty password
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("admin:"))));
  // 6. malformed headers
  check_401(get(anon, "/taxii2/", auth("Basic !!notbase64")));
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("admin"))));  // no colon
  check_401(get(anon, "/taxii2/", auth("Basic")));
  check_401(get(anon, "/taxii2/", auth("Digest username=\"admin\"")));
  // 7. empty token
  check_401(get(anon, "/taxii2/", auth("Bearer ")));
  check_401(get(anon, "/taxii2/", auth("Bearer")));
  // 8. truncated and extended token
  check_401(get(anon, "/taxii2/", auth("Bearer " + k_bot_token.substr(0, k_bot_token.size() - 4))));
  check_401(get(anon, "/taxii2/", auth("Bearer " + k_bot_token + "x")));
  // 9. a token used as another account's password, and the stored hash as a token
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("reader:" + k_bot_token))));
  check_401(get(anon, "/taxii2/", auth("Basic " + b64("bot:" + k_bot_token))));
  check_401(get(anon, "/taxii2/", auth("Bearer " + server::token_hash(k_bot_token).substr(8))));
  // 10. a certificate from the partners CA that belongs to no account
  {
    auto c = clients::taxii_client::make(with_cert(srv, p.orphan, "orphan"));
    REQUIRE(c);
    check_401(get(*c, "/taxii2/"));
  }
  // 11. a valid certificate does not rescue a wrong password: the header decides
  {
    auto c = clients::taxii_client::make(with_cert(srv, p.partner, "partner"));
    REQUIRE(c);
    check_401(get(*c, "/taxii2/", auth("Basic " + b64("admin:wrong"))));
    // and without a header the certificate is the identity
    CHECK(get(*c, "/taxii2/").status == 200);
  }
  // The positive controls: each credential works when right.
  CHECK(get(anon, "/taxii2/", auth("Basic " + b64("admin:admin-password"))).status == 200);
  CHECK(get(anon, "/taxii2/", auth("Bearer " + k_bot_token)).status == 200);
  // taxii2-client's TokenAuth sends the same token as "Token".
  CHECK(get(anon, "/taxii2/", auth("Token " + k_bot_token)).status == 200);
  check_401(get(anon, "/taxii2/", auth("Token " + k_bot_token + "x")));
  // Nothing presented reached the log.
  const auto log = srv.log_text();
  CHECK(log.find("admin-password") == std::string::npos);
  CHECK(log.find(k_bot_token.substr(0, 20)) == std::string::npos);
}

TEST_CASE("client certificates: chain, dates, CRL, key and purpose are verified", "[auth]") {
  pki p;
  test_server srv(cert_setup(p), false);
  write_text(srv.dir() / "ca.pem", p.ca.cert_pem());
  write_text(srv.dir() / "ca.crl", crl_pem(p.ca, {p.revoked.cert()}));
  srv.start();

  // The good certificate authenticates as its account, with its rights.
  auto good = clients::taxii_client::make(with_cert(srv, p.partner, "partner"));
  REQUIRE(good);
  CHECK(get(*good, "/api1/collections/intel/").status == 200);
  CHECK(get(*good, "/api1/collections/secret/").status == 404);

  // Each bad one is mapped to an account, yet the handshake fails: no
  // request is answered on that connection, with or without a password.
  const std::vector<std::pair<std::string, const server::issued_certificate*>> bad = {
      {"revoked", &p.revoked},         {"expired", &p.expired},   {"early", &p.early},
      {"server-only", &p.server_only}, {"stranger", &p.stranger}, {"forged", &p.forged},
      {"self-signed", &p.self_signed},
  };
  for (const auto& [name, cert] : bad) {
    INFO(name);
    auto o = with_cert(srv, *cert, name);
    auto c = clients::taxii_client::make(o);
    REQUIRE(c);
    auto r = c->request("GET", "/taxii2/", {{"Accept", "application/taxii+json;version=2.1"}});
    CHECK_FALSE(r);
    o.user = "admin";
    o.password = "admin-password";
    auto with_password = clients::taxii_client::make(o);
    REQUIRE(with_password);
    CHECK_FALSE(with_password->request("GET", "/taxii2/", {}));
  }
  // The server is fine afterwards, for certificates and passwords alike.
  CHECK(get(*good, "/taxii2/").status == 200);
  auto admin = srv.client("admin");
  CHECK(get(admin, "/taxii2/").status == 200);
  // Revoking by config: the fingerprint removed, the next request is a 401.
  auto setup = srv.setup();
  for (auto& a : setup.accounts) {
    if (a.name == "partner") {
      a.client_cert_sha256.clear();
      a.password = "partner-pw";
    }
  }
  const auto offset = srv.log_text().size();
  srv.reload(setup);
  REQUIRE(srv.wait_for_log("config loaded", offset));
  check_401(get(*good, "/taxii2/"));
  // A new CRL needs a restart, and the reload says so.
  CHECK(srv.log_text().find("restart to apply", offset) != std::string::npos);
}

TEST_CASE("1,000 wrong passwords: a few KDF runs, then 429 with Retry-After", "[auth]") {
  auto setup = default_setup();
  setup.limits_json =
      R"("auth_failure_burst": 10, "auth_failure_burst_per_address": 40, "auth_failures_per_minute": 1)";
  test_server srv(setup);
  // reader logged in before the attack.
  auto reader = srv.client("reader");
  REQUIRE(get(reader, "/taxii2/").status == 200);

  auto o = srv.options("reader");
  o.password = "wrong";
  auto attacker = clients::taxii_client::make(o);
  REQUIRE(attacker);
  const auto start = std::chrono::steady_clock::now();
  int unauthorized = 0;
  int throttled = 0;
  int first_429 = -1;
  for (int i = 0; i < 1000; ++i) {
    auto r = get(*attacker, "/taxii2/");
    if (r.status == 401) {
      ++unauthorized;
    } else {
      if (first_429 < 0) {
        first_429 = i;
        check_429(r);
      }
      REQUIRE(r.status == 429);
      REQUIRE(r.header("Retry-After"));
      ++throttled;
    }
  }
  const auto minutes =
      std::chrono::duration_cast<std::chrono::minutes>(std::chrono::steady_clock::now() - start)
          .count();
  // Each 401 to a Basic attempt is one KDF run; a 429 is none. The bucket
  // holds 10 and refills one a minute.
  CHECK(first_429 == 10);
  CHECK(unauthorized >= 10);
  CHECK(unauthorized <= 10 + 1 + minutes);
  CHECK(throttled == 1000 - unauthorized);

  // Nobody else is slowed down: a new password login from the same address,
  // a token, and reader's own session (verified before the attack).
  auto admin = srv.client("admin");
  CHECK(get(admin, "/taxii2/").status == 200);
  auto bot = srv.client("bot");
  CHECK(get(bot, "/taxii2/").status == 200);
  CHECK(get(reader, "/taxii2/").status == 200);
  auto reader_again = srv.client("reader");
  CHECK(get(reader_again, "/taxii2/").status == 200);
}

TEST_CASE("per-account request rate: 429 with Retry-After, others unaffected", "[auth]") {
  auto setup = default_setup();
  setup.limits_json = R"("requests_per_second": 1, "request_burst": 5)";
  test_server srv(setup);
  auto admin = srv.client("admin");
  for (int i = 0; i < 5; ++i) CHECK(get(admin, "/taxii2/").status == 200);
  auto r = get(admin, "/api1/collections/");
  check_429(r);
  CHECK(r.body.find("request rate") != std::string::npos);
  auto reader = srv.client("reader");
  CHECK(get(reader, "/taxii2/").status == 200);
  // A higher limit by SIGHUP applies to the next request.
  auto raised = setup;
  raised.limits_json = R"("requests_per_second": 1000, "request_burst": 1000)";
  const auto offset = srv.log_text().size();
  srv.reload(raised);
  REQUIRE(srv.wait_for_log("config loaded", offset));
  CHECK(get(admin, "/taxii2/").status == 200);
}

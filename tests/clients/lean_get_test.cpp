#include "clients/lean_get.hpp"

#include <catch2/catch.hpp>

#include "clients/taxii_client.hpp"
#include "tests/clients/test_tls_server.hpp"

using namespace cairn::clients;
using namespace cairn::clients::testing;

namespace {

client_options options_for(const test_tls_server& server, const test_pki& pki) {
  client_options o;
  o.url = server.url("/taxii2/");
  o.cacert_file = pki.ca_file.string();
  o.user = "acme";
  o.password = "pw";
  o.timeout = std::chrono::seconds(10);
  return o;
}

// A connection made the way cairn-bench makes one: the client's URL and trust.
cairn::result<lean_get_connection> open_like(const taxii_client& client) {
  return lean_get_connection::open(client.server(), client.tls(), std::chrono::seconds(10));
}

}  // namespace

TEST_CASE("a lean GET connection counts bodies and keeps the connection",
          "[clients][bench][lean]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Lean CA", "IP:127.0.0.1");
  const std::string big(300'000, 'x');  // many TLS records
  std::string seen_authorization;
  std::string seen_accept;
  test_tls_server server(pki, [&](const test_request& r) {
    seen_authorization = r.header("Authorization");
    seen_accept = r.header("Accept");
    if (r.target == "/big") return test_reply{200, {}, big};
    if (r.target == "/close") return test_reply{200, {{"Connection", "close"}}, "bye"};
    if (r.target == "/empty") return test_reply{204, {}, ""};
    return test_reply{401,
                      {{"Content-Type", "application/taxii+json;version=2.1"}},
                      R"({"title":"Unauthorized","description":"who are you"})"};
  });
  auto client = taxii_client::make(options_for(server, pki));
  REQUIRE(client);
  auto conn = open_like(*client);
  REQUIRE(conn);

  auto r = conn->get(client->get_head("/big"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body_bytes == big.size());
  CHECK(r->body_start.empty());  // a 2xx body is counted, never kept
  CHECK(seen_authorization == "Basic YWNtZTpwdw==");
  CHECK(seen_accept == "application/taxii+json;version=2.1");

  auto again = conn->get(client->get_head("/big"));
  REQUIRE(again);
  CHECK(again->body_bytes == big.size());
  auto empty = conn->get(client->get_head("/empty"));
  REQUIRE(empty);
  CHECK(empty->status == 204);
  CHECK(empty->body_bytes == 0);
  CHECK(server.connections() == 1);  // all on one kept-alive connection

  auto refused = conn->get(client->get_head("/nope"));
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(refused->body_start.find("who are you") != std::string::npos);
  CHECK(conn->is_open());

  auto closing = conn->get(client->get_head("/close"));
  REQUIRE(closing);
  CHECK(closing->body_bytes == 3);
  CHECK_FALSE(conn->is_open());
  auto after = conn->get(client->get_head("/big"));
  REQUIRE_FALSE(after);
  CHECK(after.error().message.find("closed") != std::string::npos);
}

TEST_CASE("a lean GET connection checks the server as the client does", "[clients][bench][lean]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Lean CA", "IP:127.0.0.1");
  const test_pki other = make_test_pki(dir.path() / "other", "Other CA", "IP:127.0.0.1");
  test_tls_server server(pki, [](const test_request&) { return test_reply{200, {}, "{}"}; });

  SECTION("an unknown CA is refused") {
    auto o = options_for(server, pki);
    o.cacert_file = other.ca_file.string();
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto conn = open_like(*client);
    REQUIRE_FALSE(conn);
    CHECK(conn.error().message.find("certificate") != std::string::npos);
  }

  SECTION("a name the certificate does not carry is refused") {
    auto o = options_for(server, pki);
    o.url = server.url("/taxii2/", "localhost");  // the certificate is for 127.0.0.1 only
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto conn = open_like(*client);
    REQUIRE_FALSE(conn);
    CHECK(conn.error().message.find("certificate") != std::string::npos);
  }

  SECTION("a wrong pinned fingerprint is refused, the right one accepted") {
    auto probe = raw_connection::open(options_for(server, pki));
    REQUIRE(probe);
    const std::string fingerprint = probe->peer_certificate_sha256();
    probe->close();
    auto o = options_for(server, pki);
    o.cacert_file = other.ca_file.string();  // ignored when pinning
    o.pinned_cert_sha256 = std::string(64, 'a');
    auto wrong = taxii_client::make(o);
    REQUIRE(wrong);
    auto refused = open_like(*wrong);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("not the pinned") != std::string::npos);

    o.pinned_cert_sha256 = fingerprint;
    auto right = taxii_client::make(o);
    REQUIRE(right);
    auto conn = open_like(*right);
    REQUIRE(conn);
    auto r = conn->get(right->get_head("/taxii2/"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body_bytes == 2);
  }
}

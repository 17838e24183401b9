#include "clients/taxii_client.hpp"

#include <catch2/catch.hpp>
#include <mutex>

#include "formats/base64.hpp"
#include "tests/clients/test_tls_server.hpp"

using namespace cairn::clients;
using namespace cairn::clients::testing;

namespace {

test_reply json_reply(unsigned status, std::string body, header_list headers = {}) {
  test_reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "application/taxii+json;version=2.1");
  return r;
}

test_reply echo(const test_request& req) {
  return json_reply(200, "{\"title\":\"echo " + req.method + " " + req.target + "\"}");
}

// Records the waits instead of sleeping, so that retry tests run instantly.
struct recorded_sleeps {
  std::mutex mutex;
  std::vector<std::chrono::milliseconds> waits;
  std::function<void(std::chrono::milliseconds)> seam() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mutex);
      waits.push_back(d);
    };
  }
};

client_options options_for(const test_tls_server& server, const test_pki& pki,
                           const std::string& path = "/taxii2/") {
  client_options o;
  o.url = server.url(path);
  o.cacert_file = pki.ca_file.string();
  o.timeout = std::chrono::seconds(10);
  return o;
}

}  // namespace

TEST_CASE("the client verifies the server certificate", "[clients][tls]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path() / "good", "Good CA", "DNS:localhost,IP:127.0.0.1");
  const test_pki other = make_test_pki(dir.path() / "other", "Other CA", "DNS:localhost");
  test_tls_server server(pki, echo);

  SECTION("the right CA is accepted, and the IP address matches") {
    auto client = taxii_client::make(options_for(server, pki));
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == R"({"title":"echo GET /taxii2/"})");
    CHECK(r->header("content-type") == "application/taxii+json;version=2.1");
  }

  SECTION("a host name in the certificate matches") {
    auto o = options_for(server, pki);
    o.url = server.url("/taxii2/", "localhost");
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  SECTION("a certificate from another CA is refused, without retries") {
    auto o = options_for(server, pki);
    o.cacert_file = other.ca_file.string();
    recorded_sleeps sleeps;
    o.sleep_for = sleeps.seam();
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("refused") != std::string::npos);
    CHECK(r.error().message.find("--cacert") != std::string::npos);
    CHECK(sleeps.waits.empty());
    CHECK(server.requests() == 0);
  }

  SECTION("the system trust store does not know a private CA") {
    auto o = options_for(server, pki);
    o.cacert_file.clear();
    o.retries = 0;
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("refused") != std::string::npos);
  }

  SECTION("insecure accepts any certificate") {
    auto o = options_for(server, pki);
    o.cacert_file = other.ca_file.string();
    o.insecure = true;
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  SECTION("a pinned fingerprint replaces the CA check") {
    auto probe = raw_connection::open(options_for(server, pki));
    REQUIRE(probe);
    const std::string fingerprint = probe->peer_certificate_sha256();
    REQUIRE(fingerprint.size() == 64);
    probe->close();

    auto o = options_for(server, pki);
    o.cacert_file = other.ca_file.string();  // ignored when pinning
    std::string with_colons;
    for (std::size_t i = 0; i < fingerprint.size(); i += 2) {
      if (i) with_colons += ':';
      with_colons += fingerprint.substr(i, 2);
    }
    o.pinned_cert_sha256 = with_colons;
    auto pinned = taxii_client::make(o);
    REQUIRE(pinned);
    auto ok = pinned->request("GET", "/taxii2/");
    REQUIRE(ok);
    CHECK(ok->status == 200);

    o.pinned_cert_sha256 = std::string(64, 'a');
    o.retries = 0;
    auto wrong = taxii_client::make(o);
    REQUIRE(wrong);
    auto refused = wrong->request("GET", "/taxii2/");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("pinned") != std::string::npos);

    o.pinned_cert_sha256 = "abc";
    CHECK_FALSE(taxii_client::make(o));
  }
}

TEST_CASE("a host name mismatch is refused", "[clients][tls]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path() / "pki", "Mismatch CA", "DNS:other.example");
  test_tls_server server(pki, echo);
  auto o = options_for(server, pki);
  o.retries = 0;
  auto client = taxii_client::make(o);
  REQUIRE(client);
  auto r = client->request("GET", "/taxii2/");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("not for \"127.0.0.1\"") != std::string::npos);

  o.url = server.url("/taxii2/", "localhost");
  auto by_name = taxii_client::make(o);
  REQUIRE(by_name);
  auto r2 = by_name->request("GET", "/taxii2/");
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message.find("not for \"localhost\"") != std::string::npos);
}

TEST_CASE("bad TLS files are reported before connecting", "[clients][tls]") {
  temp_dir dir;
  client_options o;
  o.url = "https://127.0.0.1:1/taxii2/";
  o.cacert_file = (dir.path() / "missing.pem").string();
  auto missing = taxii_client::make(o);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing.pem") != std::string::npos);

  o.cacert_file.clear();
  o.client_cert_file = "only-cert.pem";
  auto half = taxii_client::make(o);
  REQUIRE_FALSE(half);
  CHECK(half.error().message.find("--key") != std::string::npos);

  o.client_cert_file.clear();
  o.url = "http://127.0.0.1:1/taxii2/";
  CHECK_FALSE(taxii_client::make(o));
}

TEST_CASE("client certificates authenticate the client", "[clients][tls]") {
  temp_dir dir;
  const test_pki server_pki = make_test_pki(dir.path() / "server", "Server CA", "IP:127.0.0.1");
  const test_pki client_pki = make_test_pki(dir.path() / "client", "Partner CA", "DNS:acme");
  test_tls_server server(server_pki, echo, client_pki.ca_file.string());

  auto o = options_for(server, server_pki);
  o.retries = 0;
  SECTION("without a certificate the handshake fails") {
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    // TLS 1.3 reports the missing certificate after the handshake, on the
    // first read; either way no response arrives.
    CHECK_FALSE(r);
  }
  SECTION("with the partner's certificate the request goes through") {
    o.client_cert_file = client_pki.cert_file.string();
    o.client_key_file = client_pki.key_file.string();
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  SECTION("a key that does not match the certificate is refused") {
    o.client_cert_file = client_pki.cert_file.string();
    o.client_key_file = server_pki.key_file.string();
    auto client = taxii_client::make(o);
    REQUIRE_FALSE(client);
    CHECK(client.error().message.find("does not match") != std::string::npos);
  }
}

TEST_CASE("requests carry the TAXII and authentication headers", "[clients][http]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Header CA", "IP:127.0.0.1");
  std::mutex mutex;
  std::vector<test_request> seen;
  test_tls_server server(pki, [&](const test_request& req) {
    std::lock_guard lock(mutex);
    seen.push_back(req);
    return json_reply(200, "{}");
  });

  SECTION("Basic") {
    auto o = options_for(server, pki);
    o.user = "acme";
    o.password = "s3cret";
    o.user_agent = "cairn-test/1";
    auto client = taxii_client::make(o);
    REQUIRE(client);
    REQUIRE(client->request("GET", "/taxii2/"));
    REQUIRE(client->request("POST", "/api/collections/x/objects/", {}, R"({"objects":[]})"));
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].header("Authorization") ==
          "Basic " + cairn::formats::base64_encode("acme:s3cret"));
    CHECK(seen[0].header("Accept") == "application/taxii+json;version=2.1");
    CHECK(seen[0].header("User-Agent") == "cairn-test/1");
    CHECK(seen[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen[1].method == "POST");
    CHECK(seen[1].header("Content-Type") == "application/taxii+json;version=2.1");
    CHECK(seen[1].body == R"({"objects":[]})");
  }
  SECTION("Bearer wins over Basic") {
    auto o = options_for(server, pki);
    o.user = "acme";
    o.password = "pw";
    o.token = "tok-123";
    auto client = taxii_client::make(o);
    REQUIRE(client);
    REQUIRE(client->request("GET", "/taxii2/", {{"Accept", "application/json"}}));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].header("Authorization") == "Bearer tok-123");
    CHECK(seen[0].header("Accept") == "application/json");
  }
  SECTION("header injection is refused") {
    auto client = taxii_client::make(options_for(server, pki));
    REQUIRE(client);
    CHECK_FALSE(client->request("GET", "/x\r\nEvil: 1"));
    CHECK_FALSE(client->request("GET", "/x", {{"X-A", "b\r\nEvil: 1"}}));
    CHECK_FALSE(client->request("GE T", "/x"));
    CHECK(seen.empty());
  }
  SECTION("a large body is sent whole") {
    auto client = taxii_client::make(options_for(server, pki));
    REQUIRE(client);
    const std::string big(300000, 'x');
    REQUIRE(client->request("POST", "/big/", {}, big));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].body == big);
  }
}

TEST_CASE("the connection is kept alive and reopened when the server closed it",
          "[clients][http]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Keepalive CA", "IP:127.0.0.1");
  std::atomic<bool> close_each{false};
  test_tls_server server(pki, [&](const test_request& req) {
    test_reply r = echo(req);
    r.close_silently = close_each.load();
    return r;
  });
  recorded_sleeps sleeps;
  auto o = options_for(server, pki);
  o.sleep_for = sleeps.seam();
  auto client = taxii_client::make(o);
  REQUIRE(client);
  for (int i = 0; i < 5; ++i) {
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(client->connections_opened() == 1);
  CHECK(server.connections() == 1);

  close_each = true;
  for (int i = 0; i < 3; ++i) {
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // Each reply closed the connection behind the client's back: the next
  // request (the 2nd and 3rd) noticed and reconnected at once, with no backoff.
  CHECK(client->connections_opened() == 3);
  CHECK(server.connections() == 3);
  CHECK(sleeps.waits.empty());
}

TEST_CASE("429 and 503 are retried, honouring Retry-After, 4xx are not", "[clients][retry]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Retry CA", "IP:127.0.0.1");
  std::atomic<int> failures_left{0};
  std::atomic<unsigned> failure_status{503};
  std::string retry_after = "2";
  test_tls_server server(pki, [&](const test_request& req) {
    if (failures_left.fetch_sub(1) > 0) {
      header_list h;
      if (!retry_after.empty()) h.emplace_back("Retry-After", retry_after);
      return json_reply(failure_status, R"({"title":"busy"})", h);
    }
    return echo(req);
  });
  recorded_sleeps sleeps;
  auto o = options_for(server, pki);
  o.sleep_for = sleeps.seam();
  o.retries = 3;
  o.backoff = std::chrono::milliseconds(100);
  o.max_retry_after = std::chrono::seconds(5);

  SECTION("503 twice, then success") {
    failures_left = 2;
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(sleeps.waits.size() == 2);
    CHECK(sleeps.waits[0] == std::chrono::milliseconds(2000));
    CHECK(server.requests() == 3);
  }
  SECTION("Retry-After is bounded") {
    failures_left = 1;
    retry_after = "86400";
    auto client = taxii_client::make(o);
    REQUIRE(client);
    REQUIRE(client->request("GET", "/taxii2/"));
    REQUIRE(sleeps.waits.size() == 1);
    CHECK(sleeps.waits[0] == std::chrono::milliseconds(5000));
  }
  SECTION("429 without Retry-After backs off exponentially, then gives the last answer") {
    failures_left = 100;
    failure_status = 429;
    retry_after.clear();
    auto client = taxii_client::make(o);
    REQUIRE(client);
    auto r = client->request("GET", "/taxii2/");
    REQUIRE(r);
    CHECK(r->status == 429);
    CHECK(client->last_status() == 429);
    REQUIRE(sleeps.waits.size() == 3);
    // 100, 200, 400 ms plus at most a quarter of jitter.
    CHECK(sleeps.waits[0] >= std::chrono::milliseconds(100));
    CHECK(sleeps.waits[0] <= std::chrono::milliseconds(125));
    CHECK(sleeps.waits[1] >= std::chrono::milliseconds(200));
    CHECK(sleeps.waits[2] >= std::chrono::milliseconds(400));
    CHECK(server.requests() == 4);
  }
  SECTION("other 4xx and 500 are answered at once") {
    for (unsigned status : {400u, 401u, 403u, 404u, 413u, 500u}) {
      failures_left = 1;
      failure_status = status;
      auto client = taxii_client::make(o);
      REQUIRE(client);
      auto r = client->request("GET", "/taxii2/");
      REQUIRE(r);
      CHECK(r->status == status);
    }
    CHECK(sleeps.waits.empty());
  }
}

TEST_CASE("connection errors are retried, then reported", "[clients][retry]") {
  // A port that was just free: nothing listens there.
  unsigned short port = 0;
  {
    temp_dir dir;
    const test_pki pki = make_test_pki(dir.path(), "Gone CA", "IP:127.0.0.1");
    test_tls_server gone(pki, echo);
    port = gone.port();
  }
  recorded_sleeps sleeps;
  client_options o;
  o.url = "https://127.0.0.1:" + std::to_string(port) + "/taxii2/";
  o.insecure = true;
  o.retries = 2;
  o.backoff = std::chrono::milliseconds(10);
  o.sleep_for = sleeps.seam();
  auto client = taxii_client::make(o);
  REQUIRE(client);
  auto r = client->request("GET", "/taxii2/");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("cannot connect") != std::string::npos);
  CHECK(r.error().message.find("3 attempts") != std::string::npos);
  CHECK(sleeps.waits.size() == 2);
  CHECK(client->last_status() == 0);
}

TEST_CASE("TAXII helpers read resources and map errors", "[clients][taxii]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "TAXII CA", "IP:127.0.0.1");
  std::mutex mutex;
  std::vector<std::string> targets;
  test_tls_server server(pki, [&](const test_request& req) {
    {
      std::lock_guard lock(mutex);
      targets.push_back(req.method + " " + req.target);
    }
    const std::string& t = req.target;
    if (t == "/taxii2/") {
      return json_reply(200, R"({"title":"T","default":"/api1/","api_roots":["/api1/","/api2/"]})");
    }
    if (t == "/api1/") {
      return json_reply(
          200,
          R"({"title":"A1","versions":["application/taxii+json;version=2.1"],"max_content_length":1000})");
    }
    if (t == "/api1/collections/") {
      return json_reply(
          200,
          R"({"collections":[{"id":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","title":"C","alias":"ind","can_read":true,"can_write":false,"media_types":["application/stix+json;version=2.1"]}]})");
    }
    if (t == "/api2/collections/") return json_reply(200, "{}");
    if (t.starts_with("/api1/collections/ind/objects/?")) {
      return json_reply(
          200, R"({"more":true,"next":"n1","objects":[{"type":"x","id":"x--1"},{"id":"x--2"}]})",
          {{"X-TAXII-Date-Added-First", "2020-01-01T00:00:00.000001Z"},
           {"X-TAXII-Date-Added-Last", "2020-01-01T00:00:00.000002Z"}});
    }
    if (req.method == "POST" && t == "/api1/collections/ind/objects/") {
      return json_reply(
          202,
          R"({"id":"s1","status":"pending","total_count":2,"success_count":1,"failure_count":0,"pending_count":1,"successes":[{"id":"x--1","version":"v"}],"pendings":[{"id":"x--2","version":"v"}]})");
    }
    if (t == "/api1/status/s1/") {
      return json_reply(
          200,
          R"({"id":"s1","status":"complete","total_count":2,"success_count":1,"failure_count":1,"pending_count":0,"successes":[{"id":"x--1","version":"v"}],"failures":[{"id":"x--2","version":"v","message":"bad"}]})");
    }
    if (t.starts_with("/api1/collections/ind/manifest/")) {
      return json_reply(
          200,
          R"({"objects":[{"id":"x--1","date_added":"2020-01-01T00:00:00.000001Z","version":"v","media_type":"application/stix+json;version=2.1"}]})");
    }
    if (t == "/api1/collections/ind/objects/x--1/versions/") {
      return json_reply(200, R"({"versions":["a","b"]})");
    }
    if (req.method == "DELETE" && t == "/api1/collections/ind/objects/x--1/") {
      return json_reply(200, "");
    }
    if (t == "/api1/collections/secret/") {
      return json_reply(403, R"({"title":"Forbidden","description":"acme may not read secret"})");
    }
    return json_reply(404, R"({"title":"Not found"})");
  });
  recorded_sleeps sleeps;
  auto o = options_for(server, pki);
  o.sleep_for = sleeps.seam();
  auto client = taxii_client::make(o);
  REQUIRE(client);

  auto d = client->discovery();
  REQUIRE(d);
  CHECK(d->title == "T");
  CHECK(d->api_roots.size() == 2);

  auto root = client->resolve_api_root();
  REQUIRE(root);
  CHECK(*root == "/api1/");
  auto named = client->resolve_api_root("api2");
  REQUIRE(named);
  CHECK(*named == "/api2/");
  auto unknown = client->resolve_api_root("api9");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("/api1/") != std::string::npos);

  auto info = client->api_root(*root);
  REQUIRE(info);
  CHECK(info->max_content_length == 1000);

  auto cols = client->collections(*root);
  REQUIRE(cols);
  REQUIRE(cols->size() == 1);
  CHECK((*cols)[0].alias == "ind");
  CHECK((*cols)[0].can_read);
  CHECK_FALSE((*cols)[0].can_write);
  auto none = client->collections("/api2/");
  REQUIRE(none);
  CHECK(none->empty());

  object_filters f;
  f.limit = 2;
  f.types = {"indicator", "malware"};
  f.added_after = "2020-01-01T00:00:00Z";
  auto page = client->get_objects(*root, "ind", f);
  REQUIRE(page);
  CHECK(page->more);
  CHECK(page->next == "n1");
  REQUIRE(page->objects.size() == 2);
  CHECK(page->objects[0] == R"({"type":"x","id":"x--1"})");
  CHECK(page->date_added_last == "2020-01-01T00:00:00.000002Z");
  CHECK(targets.back() ==
        "GET /api1/collections/ind/objects/"
        "?added_after=2020-01-01T00:00:00Z&limit=2&match[type]=indicator,malware");

  auto posted = client->add_objects(*root, "ind", R"({"objects":[]})");
  REQUIRE(posted);
  CHECK(posted->status == "pending");
  auto done = client->wait_for_status(*root, *posted, std::chrono::seconds(60));
  REQUIRE(done);
  CHECK(done->complete());
  REQUIRE(done->failures.size() == 1);
  CHECK(done->failures[0].message == "bad");
  CHECK(sleeps.waits.size() == 1);

  auto m = client->manifest(*root, "ind");
  REQUIRE(m);
  REQUIRE(m->objects.size() == 1);
  CHECK(m->objects[0].date_added == "2020-01-01T00:00:00.000001Z");

  auto v = client->versions(*root, "ind", "x--1");
  REQUIRE(v);
  CHECK(v->versions == std::vector<std::string>{"a", "b"});

  CHECK(client->delete_object(*root, "ind", "x--1"));

  auto denied = client->collection(*root, "secret");
  REQUIRE_FALSE(denied);
  CHECK(denied.error().message == "403 Forbidden: acme may not read secret");
  CHECK(client->last_status() == 403);

  auto missing = client->get_status(*root, "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "404 Not Found");
  CHECK(client->connections_opened() == 1);
}

TEST_CASE("resolve_api_root with an API root URL uses its path", "[clients][taxii]") {
  client_options o;
  o.url = "https://127.0.0.1:1/sharing";
  o.insecure = true;
  auto client = taxii_client::make(o);
  REQUIRE(client);
  CHECK(client->resolve_api_root() == "/sharing/");
  CHECK(client->resolve_api_root("other") == "/other/");
}

TEST_CASE("object_filters build TAXII queries", "[clients][taxii]") {
  object_filters f;
  CHECK(f.to_query().empty());
  f.next = "a+b/c=";
  f.ids = {"indicator--1", "indicator--2"};
  f.versions = {"all"};
  f.spec_versions = {"2.1"};
  CHECK(f.to_query() ==
        "?next=a%2Bb%2Fc%3D&match[id]=indicator--1,indicator--2&match[version]=all"
        "&match[spec_version]=2.1");
}

TEST_CASE("raw_connection sends arbitrary bytes and reads what comes back", "[clients][raw]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Raw CA", "IP:127.0.0.1");
  test_tls_server server(pki, echo);
  client_options o;
  o.url = server.url("/");
  o.cacert_file = pki.ca_file.string();
  auto conn = raw_connection::open(o);
  REQUIRE(conn);
  CHECK(conn->tls_version().starts_with("TLSv1."));
  // Two pipelined requests in one write.
  REQUIRE(conn->write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = conn->read_response();
  REQUIRE(first);
  CHECK(first->body == R"({"title":"echo GET /a"})");
  auto second = conn->read_response();
  REQUIRE(second);
  CHECK(second->body == R"({"title":"echo GET /b"})");

  REQUIRE(conn->write("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto bytes = conn->read_available(std::chrono::milliseconds(500));
  REQUIRE(bytes);
  CHECK(bytes->starts_with("HTTP/1.1 200"));
  CHECK(bytes->find("echo GET /c") != std::string::npos);
  CHECK(conn->is_open());
  CHECK_FALSE(conn->peer_closed());

  // Garbage makes the test server give up on the connection.
  REQUIRE(conn->write("NOT HTTP AT ALL\r\n\r\n"));
  auto rest = conn->read_available(std::chrono::milliseconds(3000));
  REQUIRE(rest);
  CHECK(conn->peer_closed());
  CHECK_FALSE(conn->is_open());
}

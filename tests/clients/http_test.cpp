#include "clients/http.hpp"

#include <catch2/catch.hpp>

using namespace cairn::clients;

TEST_CASE("parse_url takes https URLs apart", "[clients][http]") {
  auto u = parse_url("https://Example.ORG:8443/taxii2/?x=1#frag");
  REQUIRE(u);
  CHECK(u->host == "example.org");
  CHECK(u->port == 8443);
  CHECK(u->path == "/taxii2/");
  CHECK_FALSE(u->host_is_ip);
  CHECK(u->authority() == "example.org:8443");

  auto d = parse_url("https://example.org");
  REQUIRE(d);
  CHECK(d->port == 443);
  CHECK(d->path == "/");
  CHECK(d->authority() == "example.org");

  auto ip = parse_url("https://127.0.0.1:9000/api1/");
  REQUIRE(ip);
  CHECK(ip->host_is_ip);
  CHECK(ip->host == "127.0.0.1");

  auto v6 = parse_url("https://[::1]:9000/x/");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->host_is_ip);
  CHECK(v6->authority() == "[::1]:9000");
  CHECK(v6->to_string() == "https://[::1]:9000/x/");
}

TEST_CASE("parse_url refuses what it cannot use", "[clients][http]") {
  auto plain = parse_url("http://example.org/taxii2/");
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message.find("https") != std::string::npos);
  CHECK_FALSE(parse_url("example.org"));
  CHECK_FALSE(parse_url("https://:443/"));
  CHECK_FALSE(parse_url("https://host:0/"));
  CHECK_FALSE(parse_url("https://host:70000/"));
  CHECK_FALSE(parse_url("https://host:12ab/"));
  CHECK_FALSE(parse_url("https://user:pw@host/"));
  CHECK_FALSE(parse_url("https://[::1/"));
}

TEST_CASE("resolve_reference handles the forms discovery uses", "[clients][http]") {
  auto base = parse_url("https://h:1/taxii2/");
  REQUIRE(base);
  auto abs_path = resolve_reference(*base, "/api1/");
  REQUIRE(abs_path);
  CHECK(abs_path->to_string() == "https://h:1/api1/");
  auto full = resolve_reference(*base, "https://other:2/api2/");
  REQUIRE(full);
  CHECK(full->host == "other");
  CHECK(full->path == "/api2/");
  auto bare = resolve_reference(*base, "api3/");
  REQUIRE(bare);
  CHECK(bare->path == "/api3/");
  CHECK_FALSE(resolve_reference(*base, "//evil/"));
  CHECK_FALSE(resolve_reference(*base, "/a/../b/"));
}

TEST_CASE("percent_encode keeps unreserved characters only", "[clients][http]") {
  CHECK(percent_encode("abc-._~XYZ019") == "abc-._~XYZ019");
  CHECK(percent_encode("a b+c/d") == "a%20b%2Bc%2Fd");
  CHECK(percent_encode("2020-01-01T00:00:00Z,x", ",:") == "2020-01-01T00:00:00Z,x");
  CHECK(percent_encode("\xff") == "%FF");
}

TEST_CASE("http_response header lookup ignores case", "[clients][http]") {
  http_response r;
  r.headers = {{"Content-Type", "a"}, {"X-TAXII-Date-Added-Last", "b"}, {"content-type", "c"}};
  CHECK(r.header("content-type") == "a");
  CHECK(r.header("x-taxii-date-added-last") == "b");
  CHECK_FALSE(r.header("retry-after"));
}

TEST_CASE("parse_retry_after reads seconds and HTTP dates", "[clients][http]") {
  using std::chrono::seconds;
  CHECK(parse_retry_after("120", 0) == seconds(120));
  CHECK(parse_retry_after(" 0 ", 0) == seconds(0));
  // 1994-11-06T08:49:37Z is 784111777.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30) == seconds(30));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30) == seconds(0));
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK_FALSE(parse_retry_after("-5", 0));
  CHECK_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", 0));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nox 1994 08:49:37 GMT", 0));
  CHECK_FALSE(parse_retry_after("", 0));
  // Huge values are returned large; the client bounds them.
  CHECK(parse_retry_after("99999999999999999999", 0) >= seconds(999999));
}

TEST_CASE("describe_error_response turns TAXII errors into one line", "[clients][http]") {
  const std::string taxii =
      R"({"title":"Access denied","description":"account acme cannot write to indicators","http_status":"403"})";
  CHECK(describe_error_response(403, "Forbidden", taxii) ==
        "403 Forbidden: Access denied: account acme cannot write to indicators");
  CHECK(describe_error_response(404, "", R"({"title":"No such collection"})") ==
        "404 Not Found: No such collection");
  // A title that only repeats the reason phrase is not said twice.
  CHECK(describe_error_response(403, "Forbidden",
                                R"({"title":"Forbidden","description":"no write right"})") ==
        "403 Forbidden: no write right");

  const std::string unauthorized = describe_error_response(401, "Unauthorized", "{}");
  CHECK(unauthorized.starts_with("401 Unauthorized"));
  CHECK(unauthorized.find("--password-file") != std::string::npos);

  CHECK(describe_error_response(502, "Bad Gateway", "<html>upstream\ndown</html>") ==
        "502 Bad Gateway: <html>upstream down</html>");
  CHECK(describe_error_response(406, "", "").find("TAXII 2.1 server") != std::string::npos);
  // Control characters from the server never reach the terminal.
  const std::string escape = describe_error_response(400, "Bad Request", "a\x1b[31mb");
  CHECK(escape.find('\x1b') == std::string::npos);
  // A long body is cut.
  CHECK(describe_error_response(500, "", std::string(5000, 'x')).size() < 300);
}

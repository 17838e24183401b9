// The router's refusals, exactly as clients see them: which of 401, 403,
// 404, 405, 406 and 415 a request gets, in which order the checks run, the
// description that says which part of the path is unknown, and Allow.
#include <catch2/catch.hpp>

#include "api_fixture.hpp"
#include "formats/json.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;

namespace {

const std::string k_open = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_closed = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
const std::string k_reader = "cairn_reader_token_0123456789abcdef01234567";
const std::string k_writer = "cairn_writer_token_0123456789abcdef01234567";

std::string config_text() {
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_open + R"(", "title": "open", "alias": "open"},
      {"id": ")" +
         k_closed + R"(", "title": "closed", "alias": "closed"}]}},
    "accounts": [
      {"name": "reader", "token_hashes": [")" +
         token_hash(k_reader) + R"("], "read": ["open"]},
      {"name": "writer", "token_hashes": [")" +
         token_hash(k_writer) + R"("], "read": ["open"],
       "write": ["open", "closed"]}
    ]})";
}

// The router on an exchange with an in-memory store (api_fixture.hpp).
struct fixture {
  test::api_fixture api{config_text()};

  // The refusal of this head; fails when the head is let through.
  response refusal(http::verb method, const std::string& target, const std::string& token,
                   const std::string& accept = {}, const std::string& content_type = {}) {
    auto v = api.judge(method, target, token, accept, content_type);
    REQUIRE(v.refusal);
    return std::move(*v.refusal);
  }

  bool passes(http::verb method, const std::string& target, const std::string& token) {
    return !api.judge(method, target, token, {}, "application/taxii+json;version=2.1").refusal;
  }
};

std::string description(const response& res) {
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  auto d = doc->root().get("description");
  REQUIRE(d);
  return std::string(d->as_string());
}

}  // namespace

TEST_CASE("router: each endpoint is reached by its method and path") {
  fixture f;
  using http::verb;
  CHECK(f.passes(verb::get, "/cairn/v1/health", ""));
  CHECK(f.passes(verb::get, "/taxii2/", k_reader));
  CHECK(f.passes(verb::get, "/r/", k_reader));
  CHECK(f.passes(verb::get, "/r/status/abc/", k_reader));
  CHECK(f.passes(verb::get, "/r/collections/", k_reader));
  CHECK(f.passes(verb::get, "/r/collections/open/", k_reader));
  CHECK(f.passes(verb::get, "/r/collections/open/manifest/", k_reader));
  CHECK(f.passes(verb::get, "/r/collections/open/objects/", k_reader));
  CHECK(f.passes(verb::post, "/r/collections/open/objects/", k_writer));
  CHECK(f.passes(verb::get, "/r/collections/open/objects/indicator--1/", k_reader));
  CHECK(f.passes(verb::delete_, "/r/collections/open/objects/indicator--1/", k_writer));
  CHECK(f.passes(verb::get, "/r/collections/open/objects/indicator--1/versions/", k_reader));
  // The sharing record's endpoints judge their own methods and media types.
  CHECK(f.passes(verb::post, "/cairn/v1/audit/records", k_reader));
}

TEST_CASE("router: 405 names the path's methods in Allow, after the path's names are resolved") {
  fixture f;
  using http::verb;
  // Health answers before authentication.
  auto res = f.refusal(verb::post, "/cairn/v1/health", "");
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET");
  CHECK(description(res) == "this endpoint allows GET");

  res = f.refusal(verb::put, "/r/collections/open/objects/", k_reader);
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET, POST");
  res = f.refusal(verb::post, "/r/collections/open/objects/x/", k_reader);
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET, DELETE");
  // The method before the rights: reader may not write, but POST is no method here.
  res = f.refusal(verb::post, "/r/collections/open/manifest/", k_reader);
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET");
  // An unknown root before the method.
  res = f.refusal(verb::post, "/nowhere/", k_reader);
  CHECK(res.result_int() == 404);
  CHECK(description(res) == "no API root named 'nowhere'");
  res = f.refusal(verb::post, "/taxii2/", k_reader);
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET");
}

TEST_CASE("router: a 404 says which part of the path is unknown") {
  fixture f;
  using http::verb;
  auto res = f.refusal(verb::get, "/", k_reader);
  CHECK(res.result_int() == 404);
  CHECK(description(res) == "no such endpoint");
  CHECK(description(f.refusal(verb::get, "/nowhere/collections/", k_reader)) ==
        "no API root named 'nowhere'");
  // /taxii2/ has nothing below it: what follows is under an API root named taxii2.
  CHECK(description(f.refusal(verb::get, "/taxii2/collections/", k_reader)) ==
        "no API root named 'taxii2'");
  CHECK(description(f.refusal(verb::get, "/cairn/v1/other", k_reader)) ==
        "no API root named 'cairn'");
  CHECK(description(f.refusal(verb::get, "/r/elsewhere/", k_reader)) == "no such endpoint");
  CHECK(description(f.refusal(verb::get, "/r/status/a/b/", k_reader)) == "no such endpoint");
  CHECK(description(f.refusal(verb::get, "/r/collections/none/", k_reader)) ==
        "no collection 'none' in this API root");
  // A collection the account has no right on does not exist for it.
  CHECK(description(f.refusal(verb::get, "/r/collections/closed/objects/", k_reader)) ==
        "no collection 'closed' in this API root");
  CHECK(description(f.refusal(verb::get, "/r/collections/none/bogus/", k_reader)) ==
        "no collection 'none' in this API root");
  CHECK(description(f.refusal(verb::get, "/r/collections/open/bogus/", k_reader)) ==
        "no such endpoint");
  // Longer than every endpoint: no collection is looked up.
  CHECK(description(f.refusal(verb::get, "/r/collections/none/objects/x/versions/y/", k_reader)) ==
        "no such endpoint");
}

TEST_CASE("router: authentication first, then Accept, then rights, then Content-Type") {
  fixture f;
  using http::verb;
  auto res = f.refusal(verb::get, "/nowhere/", "");
  CHECK(res.result_int() == 401);
  CHECK(res[http::field::www_authenticate] == "Basic realm=\"cairn\"");
  CHECK(f.refusal(verb::get, "/nowhere/", "cairn_wrong_token_0123456789abcdef0123456789")
            .result_int() == 401);
  // Accept before the path: even an unknown path gets 406.
  CHECK(f.refusal(verb::get, "/nowhere/", k_reader, "text/html").result_int() == 406);
  res = f.refusal(verb::post, "/r/collections/open/objects/", k_reader, {}, "text/plain");
  CHECK(res.result_int() == 403);
  CHECK(description(res) == "account 'reader' may not write to this collection");
  res = f.refusal(verb::delete_, "/r/collections/closed/objects/x/", k_writer);
  CHECK(res.result_int() == 403);
  CHECK(description(res) == "account 'writer' may not delete from this collection");
  res = f.refusal(verb::post, "/r/collections/open/objects/", k_writer, {}, "text/plain");
  CHECK(res.result_int() == 415);
}

// Lookup and exports as a client sees them, through the router on an
// in-memory store (api_fixture.hpp): the answers under the sharing policy,
// "current" indicators, the three formats, ETag and If-None-Match, the audit
// records, and the errors for bad input. Also the small helpers behind them.
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "formats/json.hpp"
#include "server/api/export_etags.hpp"
#include "server/api/exports_service.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;

namespace {

const std::string k_shared = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_other = "0c7b5e3a-2b1e-4c5f-9a3d-1e2f3a4b5c6d";
const std::string k_pub = "cairn_pub_token_0123456789abcdef0123456789ab";
const std::string k_partner = "cairn_partner_token_0123456789abcdef01234567";
const std::string k_green_reader = "cairn_green_token_0123456789abcdef012345678";
const std::string k_writer = "cairn_writer_token_0123456789abcdef01234567";

constexpr std::string_view k_green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr std::string_view k_amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
constexpr std::string_view k_red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

std::string config_text() {
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_shared + R"(", "title": "shared", "alias": "shared"},
      {"id": ")" +
         k_other + R"(", "title": "other", "alias": "other"}]}},
    "accounts": [
      {"name": "pub", "token_hashes": [")" +
         token_hash(k_pub) + R"("], "read": ["*"], "write": ["*"], "clearance": "red"},
      {"name": "partner", "token_hashes": [")" +
         token_hash(k_partner) + R"("], "read": ["shared"], "clearance": "amber"},
      {"name": "greenie", "token_hashes": [")" +
         token_hash(k_green_reader) + R"("], "read": ["shared"], "clearance": "green"},
      {"name": "writer", "token_hashes": [")" +
         token_hash(k_writer) + R"("], "write": ["shared"], "clearance": "red"}
    ]})";
}

std::string id_of(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08d-0000-4000-8000-000000000000", n);
  return buf;
}

std::string version_of(int v) {
  return "2026-01-0" + std::to_string(v) + "T00:00:00.000Z";
}

struct ind {
  int n = 1;
  int v = 1;
  std::string pattern = "[ipv4-addr:value = '198.51.100.7']";
  std::string_view marking = k_green;
  std::string valid_from = "2020-01-01T00:00:00Z";
  std::string valid_until{};  // empty: none
  bool revoked = false;
  int confidence = -1;  // -1: none
};

std::string json_of(const ind& i) {
  std::string out = R"({"type":"indicator","spec_version":"2.1","id":")" + id_of(i.n) +
                    R"(","created":"2026-01-01T00:00:00.000Z","modified":")" + version_of(i.v) +
                    R"(","pattern":")" + cairn::formats::json_escape(i.pattern) +
                    R"(","pattern_type":"stix","valid_from":")" + i.valid_from + "\"";
  if (!i.valid_until.empty()) out += R"(,"valid_until":")" + i.valid_until + "\"";
  if (i.revoked) out += R"(,"revoked":true)";
  if (i.confidence >= 0) out += R"(,"confidence":)" + std::to_string(i.confidence);
  out += R"(,"object_marking_refs":[")" + std::string(i.marking) + R"("]})";
  return out;
}

std::string envelope(const std::vector<std::string>& objects) {
  std::string out = R"({"objects":[)";
  for (std::size_t k = 0; k < objects.size(); ++k) out += (k ? "," : "") + objects[k];
  return out + "]}";
}

struct exports : test::api_fixture {
  exports() : api_fixture(config_text()) {}

  response get(const std::string& token, const std::string& target) {
    return call({http::verb::get, target, token, {}});
  }
  void publish(const std::vector<ind>& items, const std::string& collection = "shared") {
    std::vector<std::string> objects;
    for (const auto& i : items) objects.push_back(json_of(i));
    auto res = call(
        {http::verb::post, "/r/collections/" + collection + "/objects/", k_pub, envelope(objects)});
    REQUIRE(res.result_int() == 202);
    now += 1'000'000;
  }
  // The pull records, oldest first, as parsed JSON texts.
  std::vector<std::string> pulls() {
    cairn::storage::audit_query q;
    q.action = "pull";
    q.limit = 1000;
    auto page = store().audit_records(q);
    REQUIRE(page);
    return page->records;
  }
};

cairn::formats::json_document parsed(const std::string& text) {
  auto doc = cairn::formats::parse_json(text);
  REQUIRE(doc);
  return std::move(*doc);
}

void check_error(const response& res, unsigned status, std::string_view needle) {
  CHECK(res.result_int() == status);
  CHECK(res[http::field::content_type] == "application/taxii+json;version=2.1");
  auto doc = parsed(res.body());
  auto d = doc.root().get("description");
  REQUIRE(d);
  INFO(res.body());
  CHECK(d->as_string().find(needle) != std::string_view::npos);
  CHECK(doc.root().get("http_status"));
}

// The (id, version) pairs a pull record lists.
std::set<std::pair<std::string, std::string>> objects_of(const std::string& record) {
  std::set<std::pair<std::string, std::string>> out;
  auto doc = parsed(record);
  auto objs = doc.root().get("objects");
  REQUIRE(objs);
  for (std::size_t k = 0; k < objs->size(); ++k) {
    out.emplace(objs->value_at(k).get("id")->as_string(),
                objs->value_at(k).get("version")->as_string());
  }
  return out;
}

std::string field(const std::string& record, std::string_view key) {
  auto doc = parsed(record);
  auto v = doc.root().get(key);
  REQUIRE(v);
  return std::string(v->as_string());
}

std::vector<std::string> lines_of(const std::string& body, std::string_view eol = "\n") {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find(eol, start);
    REQUIRE(end != std::string::npos);  // every line is terminated
    out.push_back(body.substr(start, end - start));
    start = end + eol.size();
  }
  return out;
}

}  // namespace

TEST_CASE("lookup: the latest visible matching version per object, under the TLP policy") {
  exports f;
  f.publish({{.n = 1, .marking = k_green, .valid_until = "2999-01-01T00:00:00Z"},
             {.n = 2, .marking = k_red},
             {.n = 3, .pattern = "[ipv4-addr:value = '10.0.0.1']"},
             {.n = 4, .pattern = "[ipv4-addr:value = '198.51.100.0/24']", .marking = k_amber}});
  // Object 5: version 1 matched, version 2 no longer does.
  f.publish({{.n = 5, .v = 1}});
  f.publish({{.n = 5, .v = 2, .pattern = "[ipv4-addr:value = '203.0.113.9']"}});
  // Object 6: a revoked latest version is listed, revoked.
  f.publish({{.n = 6, .v = 1}});
  f.publish({{.n = 6, .v = 2, .revoked = true}});
  // Object 7: its latest version is red, so an amber reader gets the green one.
  f.publish({{.n = 7, .v = 1}});
  f.publish({{.n = 7, .v = 2, .marking = k_red}});

  auto res = f.get(k_partner, "/cairn/v1/lookup?value=198.51.100.7");
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/json");
  auto match = [](int n, int v, std::string_view tlp, bool revoked, std::string until) {
    return R"({"api_root":"r","collection":")" + k_shared + R"(","id":")" + id_of(n) +
           R"(","version":")" + version_of(v) + R"(","type":"indicator","tlp":")" +
           std::string(tlp) + R"(","revoked":)" + (revoked ? "true" : "false") +
           R"(,"valid_until":)" + (until.empty() ? "null" : "\"" + until + "\"") + "}";
  };
  CHECK(res.body() == R"({"value":"198.51.100.7","matches":[)" +
                          match(1, 1, "green", false, "2999-01-01T00:00:00Z") + "," +
                          match(4, 1, "amber", false, "") + "," + match(6, 2, "green", true, "") +
                          "," + match(7, 1, "green", false, "") + R"(],"more":false})");

  // The publisher sees its red versions; the green reader not the amber CIDR.
  res = f.get(k_pub, "/cairn/v1/lookup?value=198.51.100.7&type=ipv4-addr");
  REQUIRE(res.result_int() == 200);
  auto doc = parsed(res.body());
  std::set<std::string> ids;
  for (std::size_t k = 0; k < doc.root().get("matches")->size(); ++k) {
    ids.emplace(doc.root().get("matches")->value_at(k).get("id")->as_string());
  }
  CHECK(ids == std::set<std::string>{id_of(1), id_of(2), id_of(4), id_of(6), id_of(7)});
  res = f.get(k_green_reader, "/cairn/v1/lookup?value=198.51.100.7");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body().find(id_of(4)) == std::string::npos);
  CHECK(res.body().find(id_of(1)) != std::string::npos);

  // No match: an empty list.
  res = f.get(k_partner, "/cairn/v1/lookup?value=192.0.2.200");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body() == R"({"value":"192.0.2.200","matches":[],"more":false})");
}

TEST_CASE("lookup: audited as one pull per collection listing the versions returned") {
  exports f;
  f.publish({{.n = 1}, {.n = 2, .pattern = "[domain-name:value = 'evil.example.com']"}});
  f.publish({{.n = 3}}, "other");
  const auto before = f.pulls().size();
  // A normalised value finds the domain whatever its case.
  auto res = f.get(k_pub, "/cairn/v1/lookup?value=EVIL.Example.com");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body().find(id_of(2)) != std::string::npos);
  auto records = f.pulls();
  REQUIRE(records.size() == before + 1);
  CHECK(field(records.back(), "account") == "pub");
  CHECK(field(records.back(), "collection") == k_shared);
  CHECK(objects_of(records.back()) ==
        std::set<std::pair<std::string, std::string>>{{id_of(2), version_of(1)}});

  // Matches in two collections: two records. The partner cannot read
  // "other": neither its match nor a record of it.
  res = f.get(k_pub, "/cairn/v1/lookup?value=198.51.100.7");
  REQUIRE(res.result_int() == 200);
  records = f.pulls();
  REQUIRE(records.size() == before + 3);
  std::set<std::string> collections{field(records[before + 1], "collection"),
                                    field(records[before + 2], "collection")};
  CHECK(collections == std::set<std::string>{k_shared, k_other});
  res = f.get(k_partner, "/cairn/v1/lookup?value=198.51.100.7");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body().find(k_other) == std::string::npos);
  records = f.pulls();
  REQUIRE(records.size() == before + 4);
  CHECK(field(records.back(), "collection") == k_shared);

  // No match: no record.
  res = f.get(k_partner, "/cairn/v1/lookup?value=192.0.2.200");
  REQUIRE(res.result_int() == 200);
  CHECK(f.pulls().size() == before + 4);
}

TEST_CASE("lookup: bad input gets a 400 TAXII error that says what is wrong") {
  exports f;
  check_error(f.get(k_partner, "/cairn/v1/lookup"), 400, "value parameter is required");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value="), 400, "value parameter is required");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=1.2.3.4&type=mutex"), 400,
              "unknown type 'mutex'");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=not%20a%20thing"), 400,
              "none of the observables");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=example.com&type=ipv4-addr"), 400,
              "not of type ipv4-addr");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=1.2.3.4&colour=red"), 400,
              "unknown parameter 'colour'");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=1.2.3.4&value=1.2.3.5"), 400, "value");
  check_error(f.get(k_partner, "/cairn/v1/lookup?value=" + std::string(9000, 'a')), 400,
              "longer than");
  auto res = f.call({http::verb::post, "/cairn/v1/lookup?value=1.2.3.4", k_partner, {}});
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET");
  // Without credentials: 401, as everywhere.
  CHECK(f.get("", "/cairn/v1/lookup?value=1.2.3.4").result_int() == 401);
}

TEST_CASE("export edl: current values only, sorted, unique, URLs without their scheme") {
  exports f;
  f.publish({
      {.n = 1, .pattern = "[ipv4-addr:value = '198.51.100.7']"},
      // The same value twice: listed once.
      {.n = 2,
       .pattern = "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'b.example']"},
      {.n = 3,
       .pattern = "[url:value = 'https://a.example/x'] OR [url:value = 'http://z.example/']"},
      // An AND adds nothing, nor another operator.
      {.n = 4, .pattern = "[ipv4-addr:value = '10.9.9.9' AND domain-name:value = 'and.example']"},
      {.n = 5, .pattern = "[domain-name:value LIKE '%.like.example']"},
      // Not current: expired, not yet valid, revoked.
      {.n = 6, .pattern = "[ipv4-addr:value = '10.0.0.6']", .valid_until = "2021-01-01T00:00:00Z"},
      {.n = 7, .pattern = "[ipv4-addr:value = '10.0.0.7']", .valid_from = "2999-01-01T00:00:00Z"},
      {.n = 8, .pattern = "[ipv4-addr:value = '10.0.0.8']", .revoked = true},
      // Above the partner's clearance.
      {.n = 9, .pattern = "[ipv4-addr:value = '10.0.0.9']", .marking = k_red},
      {.n = 10, .pattern = "[ipv4-addr:value = '10.0.0.10']", .marking = k_amber},
  });
  // Only the latest version counts: 11's value moved.
  f.publish({{.n = 11, .v = 1, .pattern = "[ipv4-addr:value = '10.0.0.111']"}});
  f.publish({{.n = 11, .v = 2, .pattern = "[ipv4-addr:value = '10.0.0.112']"}});

  auto res = f.get(k_partner, "/cairn/v1/export/r/shared?format=edl");
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/plain; charset=utf-8");
  const std::vector<std::string> expected{"10.0.0.10",   "10.0.0.112", "198.51.100.7",
                                          "a.example/x", "b.example",  "z.example/"};
  CHECK(lines_of(res.body()) == expected);

  // A green reader does not see the amber value; the publisher sees red.
  res = f.get(k_green_reader, "/cairn/v1/export/r/" + k_shared + "?format=edl");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body().find("10.0.0.10\n") == std::string::npos);
  CHECK(res.body().find("198.51.100.7\n") != std::string::npos);
  res = f.get(k_pub, "/cairn/v1/export/r/shared?format=edl");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body().find("10.0.0.9\n") != std::string::npos);

  // Types restrict the kinds.
  res = f.get(k_partner, "/cairn/v1/export/r/shared?format=edl&type=url,domain-name");
  REQUIRE(res.result_int() == 200);
  CHECK(lines_of(res.body()) == std::vector<std::string>{"a.example/x", "b.example", "z.example/"});

  // Audited as a pull of the versions drawn on.
  auto records = f.pulls();
  REQUIRE(!records.empty());
  CHECK(field(records.back(), "account") == "partner");
  CHECK(field(records.back(), "collection") == k_shared);
  CHECK(objects_of(records.back()) == std::set<std::pair<std::string, std::string>>{
                                          {id_of(2), version_of(1)}, {id_of(3), version_of(1)}});
}

TEST_CASE("export csv: RFC 4180 rows with the indicator's fields") {
  exports f;
  f.publish({{.n = 1,
              .pattern = "[url:value = 'https://a.example/p?x=1,y=\"2\"']",
              .valid_until = "2999-01-01T00:00:00Z",
              .confidence = 80},
             {.n = 2, .pattern = "[ipv4-addr:value = '198.51.100.7']", .marking = k_amber}});
  auto res = f.get(k_partner, "/cairn/v1/export/r/shared?format=csv");
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "text/csv; charset=utf-8; header=present");
  CHECK(res.body() ==
        "value,type,indicator_id,indicator_version,valid_from,valid_until,confidence,tlp\r\n"
        "198.51.100.7,ipv4-addr," +
            id_of(2) + "," + version_of(1) +
            ",2020-01-01T00:00:00Z,,,amber\r\n"
            "\"https://a.example/p?x=1,y=\"\"2\"\"\",url," +
            id_of(1) + "," + version_of(1) +
            ",2020-01-01T00:00:00Z,2999-01-01T00:00:00Z,80,green\r\n");
  // Nothing current: the header alone.
  res = f.get(k_partner, "/cairn/v1/export/r/shared?format=csv&type=email-addr");
  REQUIRE(res.result_int() == 200);
  CHECK(res.body() ==
        "value,type,indicator_id,indicator_version,valid_from,valid_until,confidence,tlp\r\n");
}

TEST_CASE("export stix: a bundle of the current indicators, each once") {
  exports f;
  const ind a{.n = 1, .pattern = "[ipv4-addr:value = '1.1.1.1'] OR [ipv4-addr:value = '2.2.2.2']"};
  const ind b{.n = 2, .pattern = "[domain-name:value = 'x.example']"};
  f.publish({a, b, {.n = 3, .pattern = "[ipv4-addr:value = '3.3.3.3']", .revoked = true}});
  auto res = f.get(k_partner, "/cairn/v1/export/r/shared?format=stix");
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/stix+json;version=2.1");
  auto doc = parsed(res.body());
  CHECK(doc.root().get("type")->as_string() == "bundle");
  CHECK(doc.root().get("id")->as_string().starts_with("bundle--"));
  auto objs = doc.root().get("objects");
  REQUIRE(objs);
  REQUIRE(objs->size() == 2);
  CHECK(objs->value_at(0).dump() == json_of(a));
  CHECK(objs->value_at(1).dump() == json_of(b));
  // application/json when the client asks for it.
  res = f.call({http::verb::get,
                "/cairn/v1/export/r/shared?format=stix",
                k_partner,
                {},
                {{http::field::accept, "application/json"}}});
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/json");
}

TEST_CASE("export: ETag, and If-None-Match answered 304 without a record until something changes") {
  exports f;
  f.publish({{.n = 1}});
  auto res = f.get(k_partner, "/cairn/v1/export/r/shared?format=edl");
  REQUIRE(res.result_int() == 200);
  const std::string etag(res[http::field::etag]);
  REQUIRE(etag.size() > 2);
  CHECK(etag.front() == '"');
  CHECK(etag.back() == '"');
  // The same export again: the same tag.
  CHECK(std::string(f.get(k_partner, "/cairn/v1/export/r/shared?format=edl")[http::field::etag]) ==
        etag);
  // Another format, types or account: another tag.
  CHECK(std::string(f.get(k_partner, "/cairn/v1/export/r/shared?format=csv")[http::field::etag]) !=
        etag);
  CHECK(std::string(f.get(
            k_partner, "/cairn/v1/export/r/shared?format=edl&type=ipv4-addr")[http::field::etag]) !=
        etag);
  CHECK(std::string(f.get(k_green_reader,
                          "/cairn/v1/export/r/shared?format=edl")[http::field::etag]) != etag);

  const auto records = f.pulls().size();
  auto conditional = [&](const std::string& tags) {
    return f.call({http::verb::get,
                   "/cairn/v1/export/r/shared?format=edl",
                   k_partner,
                   {},
                   {{http::field::if_none_match, tags}}});
  };
  res = conditional(etag);
  CHECK(res.result_int() == 304);
  CHECK(std::string(res[http::field::etag]) == etag);
  CHECK(res.body().empty());
  res = conditional("\"other\", W/" + etag);
  CHECK(res.result_int() == 304);
  CHECK(f.pulls().size() == records);  // a 304 records nothing

  // A publish changes the collection: a full answer with a new tag.
  f.publish({{.n = 2, .pattern = "[ipv4-addr:value = '10.1.1.1']"}});
  res = conditional(etag);
  REQUIRE(res.result_int() == 200);
  CHECK(std::string(res[http::field::etag]) != etag);
  CHECK(res.body().find("10.1.1.1\n") != std::string::npos);
  CHECK(f.pulls().size() == records + 1);

  // The new tag holds while nothing changes.
  const std::string etag2(res[http::field::etag]);
  res = conditional(etag2);
  CHECK(res.result_int() == 304);

  // A version withheld from the account (red, above its amber clearance)
  // changes the collection, not the account's export: the same tag, 304.
  f.publish({{.n = 3, .pattern = "[ipv4-addr:value = '10.9.9.9']", .marking = k_red}});
  res = conditional(etag2);
  CHECK(res.result_int() == 304);
  CHECK(std::string(res[http::field::etag]) == etag2);
}

TEST_CASE("export: unknown root, collection, format or type, and missing rights") {
  exports f;
  check_error(f.get(k_partner, "/cairn/v1/export/nope/shared?format=edl"), 404,
              "no API root named 'nope'");
  check_error(f.get(k_partner, "/cairn/v1/export/r/missing?format=edl"), 404,
              "no collection 'missing'");
  // A collection the account cannot see at all answers like a missing one.
  check_error(f.get(k_partner, "/cairn/v1/export/r/other?format=edl"), 404,
              "no collection 'other'");
  // One it may only write to: 403, as TAXII reads.
  check_error(f.get(k_writer, "/cairn/v1/export/r/shared?format=edl"), 403, "may not read");
  check_error(f.get(k_partner, "/cairn/v1/export/r/shared"), 400, "format parameter is required");
  check_error(f.get(k_partner, "/cairn/v1/export/r/shared?format=xml"), 400,
              "unknown format 'xml'");
  check_error(f.get(k_partner, "/cairn/v1/export/r/shared?format=edl&type=ipv4-addr,mutex"), 400,
              "unknown type 'mutex'");
  check_error(f.get(k_partner, "/cairn/v1/export/r/shared?format=edl&sort=desc"), 400,
              "unknown parameter 'sort'");
  auto res = f.call({http::verb::delete_, "/cairn/v1/export/r/shared?format=edl", k_partner, {}});
  CHECK(res.result_int() == 405);
}

TEST_CASE("exports helpers: If-None-Match, CSV fields, URL schemes, the ETag cache") {
  CHECK(if_none_match_matches("\"a\"", "\"a\""));
  CHECK(if_none_match_matches("W/\"a\"", "\"a\""));
  CHECK(if_none_match_matches("\"b\", \"a\"", "\"a\""));
  CHECK(if_none_match_matches("*", "\"a\""));
  CHECK_FALSE(if_none_match_matches("\"b\"", "\"a\""));
  CHECK_FALSE(if_none_match_matches("", "\"a\""));
  CHECK_FALSE(if_none_match_matches("\"a", "\"a\""));

  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\r\nlines") == "\"two\r\nlines\"");
  CHECK(csv_field("") == "");

  CHECK(url_without_scheme("https://a.example/x") == "a.example/x");
  CHECK(url_without_scheme("ftp://h/") == "h/");
  CHECK(url_without_scheme("a.example/x?u=http://b") == "a.example/x?u=http://b");
  CHECK(url_without_scheme("://x") == "://x");

  export_etags cache;
  cache.put("k", 7, "\"t\"", 100);
  CHECK(cache.find("k", 7, 99) == std::optional<std::string>("\"t\""));
  CHECK_FALSE(cache.find("k", 8, 99));   // the collection changed
  CHECK_FALSE(cache.find("k", 7, 100));  // a validity boundary passed
  CHECK_FALSE(cache.find("j", 7, 0));
  // Bounded: the least recently used goes first.
  for (std::size_t k = 0; k < export_etags::k_max_entries + 10; ++k) {
    cache.put("key" + std::to_string(k), 1, "\"x\"", 10);
    if (k % 100 == 0) CHECK(cache.find("k", 7, 0));  // kept in use
  }
  CHECK(cache.size() == export_etags::k_max_entries);
  CHECK(cache.find("k", 7, 0));
  CHECK_FALSE(cache.find("key0", 1, 0));
}

TEST_CASE("respond_fn: a streamed body reaches a plain callback whole") {
  std::string got;
  respond_fn respond([&](response res) { got = res.body(); });
  int calls = 0;
  respond.stream(response{http::status::ok, 11},
                 [&](std::string& out) -> std::expected<bool, std::string> {
                   out += "piece" + std::to_string(calls);
                   return ++calls < 3;
                 });
  CHECK(got == "piece0piece1piece2");
}

// Lookup and exports against the real cairnd over TLS: answers under the
// sharing policy, each export format streamed (chunked) in several pieces,
// ETag and If-None-Match, the audit records an auditor reads, and the TAXII
// error resources for bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

constexpr const char* k_green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr const char* k_amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

std::string indicator(const std::string& id, const std::string& pattern, const char* marking,
                      const std::string& extra = {}) {
  formats::json_writer w;
  w.begin_object().member("type", "indicator").member("spec_version", "2.1").member("id", id);
  w.member("created", "2026-01-01T00:00:00.000Z").member("modified", "2026-01-01T00:00:00.000Z");
  w.member("pattern", pattern).member("pattern_type", "stix");
  w.member("valid_from", "2020-01-01T00:00:00Z");
  if (!extra.empty()) w.key("revoked").boolean(extra == "revoked");
  w.key("object_marking_refs").begin_array().string(marking).end_array();
  w.end_object();
  return w.take();
}

void publish(clients::taxii_client& c, const std::vector<std::string>& objects) {
  auto root = c.resolve_api_root();
  REQUIRE(root);
  for (std::size_t start = 0; start < objects.size(); start += 500) {
    std::vector<std::string> part(
        objects.begin() + static_cast<std::ptrdiff_t>(start),
        objects.begin() + static_cast<std::ptrdiff_t>(std::min(objects.size(), start + 500)));
    auto st = c.add_objects(*root, "intel", envelope(part));
    REQUIRE(st);
    auto done = c.wait_for_status(*root, *st, std::chrono::seconds(60));
    REQUIRE(done);
    REQUIRE(done->failure_count == 0);
    REQUIRE(done->success_count == static_cast<std::int64_t>(part.size()));
  }
}

formats::json_document parsed(const std::string& text) {
  auto doc = formats::parse_json(text);
  REQUIRE(doc);
  return std::move(*doc);
}

std::vector<std::string> lines_of(const std::string& body, std::string_view eol) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find(eol, start);
    REQUIRE(end != std::string::npos);
    out.push_back(body.substr(start, end - start));
    start = end + eol.size();
  }
  return out;
}

void check_taxii_error(const clients::http_response& r, unsigned status, std::string_view needle) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto doc = parsed(r.body);
  CHECK(doc.root().get("title"));
  auto d = doc.root().get("description");
  REQUIRE(d);
  CHECK(d->as_string().find(needle) != std::string_view::npos);
}

// The pull records of an account, as the auditor reads them.
std::vector<std::string> pulls_of(const test_server& srv, const std::string& account) {
  auto auditor = srv.client("auditor");
  auto r = auditor.get_ok("/cairn/v1/audit?action=pull&limit=1000&account=" + account);
  REQUIRE(r);
  auto doc = parsed(r->body);
  std::vector<std::string> out;
  auto records = doc.root().get("records");
  REQUIRE(records);
  for (std::size_t k = 0; k < records->size(); ++k) out.push_back(records->value_at(k).dump());
  return out;
}

std::size_t objects_listed(const std::string& record) {
  auto doc = parsed(record);
  auto objs = doc.root().get("objects");
  return objs ? objs->size() : 0;
}

}  // namespace

TEST_CASE("lookup over TLS: policy, latest versions, and a pull record per collection",
          "[integration][exports]") {
  test_server srv;
  auto admin = srv.client("admin");
  const std::string a = random_stix_id("indicator");
  const std::string b = random_stix_id("indicator");
  const std::string c = random_stix_id("indicator");
  publish(admin, {indicator(a, "[ipv4-addr:value = '203.0.113.5']", k_green),
                  indicator(b, "[ipv4-addr:value = '203.0.113.0/24']", k_amber),
                  indicator(c, "[domain-name:value = 'bad.example']", k_green)});

  // bot (amber) sees both; reader (green) only the green one.
  auto bot = srv.client("bot");
  auto r = bot.get_ok("/cairn/v1/lookup?value=203.0.113.5");
  REQUIRE(r);
  auto doc = parsed(r->body);
  CHECK(doc.root().get("value")->as_string() == "203.0.113.5");
  CHECK_FALSE(doc.root().get("more")->as_bool());
  auto matches = doc.root().get("matches");
  REQUIRE(matches->size() == 2);
  std::set<std::string> ids;
  for (std::size_t k = 0; k < matches->size(); ++k) {
    const auto m = matches->value_at(k);
    ids.emplace(m.get("id")->as_string());
    CHECK(m.get("api_root")->as_string() == "api1");
    CHECK(m.get("collection")->as_string() == k_intel);
    CHECK(m.get("version")->as_string() == "2026-01-01T00:00:00.000Z");
    CHECK(m.get("type")->as_string() == "indicator");
    CHECK(m.get("revoked")->is_bool());
    CHECK(m.get("valid_until")->is_null());
  }
  CHECK(ids == std::set<std::string>{a, b});

  auto reader = srv.client("reader");
  r = reader.get_ok("/cairn/v1/lookup?value=203.0.113.5&type=ipv4-addr");
  REQUIRE(r);
  doc = parsed(r->body);
  REQUIRE(doc.root().get("matches")->size() == 1);
  CHECK(doc.root().get("matches")->value_at(0).get("id")->as_string() == a);
  CHECK(doc.root().get("matches")->value_at(0).get("tlp")->as_string() == "green");

  // The deliveries are in the sharing record.
  auto records = pulls_of(srv, "reader");
  REQUIRE(records.size() == 1);
  CHECK(records[0].find(a) != std::string::npos);
  CHECK(records[0].find(b) == std::string::npos);
  CHECK(objects_listed(records[0]) == 1);

  // Bad input: TAXII error resources.
  auto bad = bot.request("GET", "/cairn/v1/lookup");
  REQUIRE(bad);
  check_taxii_error(*bad, 400, "value parameter is required");
  bad = bot.request("GET", "/cairn/v1/lookup?value=%25%25%25");
  REQUIRE(bad);
  check_taxii_error(*bad, 400, "none of the observables");
}

TEST_CASE("exports over TLS: edl, csv and stix streamed in pieces, audited, under policy",
          "[integration][exports]") {
  test_server srv;
  auto admin = srv.client("admin");
  // 2,000 green indicators of 30 addresses each (60,000 values, more than
  // one piece of every format), 20 amber ones, and revoked ones.
  std::vector<std::string> objects;
  std::set<std::string> green_values;
  for (int i = 0; i < 2000; ++i) {
    std::string pattern;
    for (int j = 0; j < 30; ++j) {
      char v[32];
      std::snprintf(v, sizeof v, "10.%d.%d.%d", i / 200, i % 200, j);
      green_values.emplace(v);
      pattern += std::string(pattern.empty() ? "" : " OR ") + "[ipv4-addr:value = '" + v + "']";
    }
    objects.push_back(indicator(random_stix_id("indicator"), pattern, k_green));
  }
  std::set<std::string> amber_values;
  for (int i = 0; i < 20; ++i) {
    const std::string v = "192.0.2." + std::to_string(i);
    amber_values.emplace(v);
    objects.push_back(
        indicator(random_stix_id("indicator"), "[ipv4-addr:value = '" + v + "']", k_amber));
  }
  for (int i = 0; i < 5; ++i) {
    objects.push_back(indicator(random_stix_id("indicator"),
                                "[domain-name:value = 'gone" + std::to_string(i) + ".example']",
                                k_green, "revoked"));
  }
  publish(admin, objects);

  auto bot = srv.client("bot");
  auto reader = srv.client("reader");
  SECTION("edl") {
    auto r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->header("Content-Type").value_or("") == "text/plain; charset=utf-8");
    CHECK(r->header("Transfer-Encoding").value_or("") == "chunked");
    std::set<std::string> all = green_values;
    all.insert(amber_values.begin(), amber_values.end());
    const auto lines = lines_of(r->body, "\n");
    CHECK(lines == std::vector<std::string>(all.begin(), all.end()));  // sorted, unique

    // A green account does not see the amber values.
    auto g = reader.request(
        "GET", "/cairn/v1/export/api1/" + std::string(k_intel) + "?format=edl&type=ipv4-addr");
    REQUIRE(g);
    REQUIRE(g->status == 200);
    CHECK(lines_of(g->body, "\n") ==
          std::vector<std::string>(green_values.begin(), green_values.end()));

    // Audited: one pull listing the 2,020 indicators drawn on (bot), 2,000
    // for the reader.
    auto records = pulls_of(srv, "bot");
    REQUIRE(records.size() == 1);
    CHECK(objects_listed(records[0]) == 2020);
    records = pulls_of(srv, "reader");
    REQUIRE(records.size() == 1);
    CHECK(objects_listed(records[0]) == 2000);
  }
  SECTION("csv") {
    auto r = bot.request("GET", "/cairn/v1/export/api1/intel?format=csv");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->header("Transfer-Encoding").value_or("") == "chunked");
    const auto rows = lines_of(r->body, "\r\n");
    REQUIRE(rows.size() == 1 + 60'000 + 20);
    CHECK(rows[0] ==
          "value,type,indicator_id,indicator_version,valid_from,valid_until,confidence,tlp");
    std::size_t amber = 0;
    for (std::size_t k = 1; k < rows.size(); ++k) {
      if (rows[k].ends_with(",amber")) ++amber;
    }
    CHECK(amber == 20);
    CHECK(rows[1].starts_with("10.0.0.0,ipv4-addr,indicator--"));
  }
  SECTION("stix") {
    auto r = bot.request("GET", "/cairn/v1/export/api1/intel?format=stix");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->header("Content-Type").value_or("") == "application/stix+json;version=2.1");
    auto doc = parsed(r->body);
    CHECK(doc.root().get("type")->as_string() == "bundle");
    auto objs = doc.root().get("objects");
    REQUIRE(objs->size() == 2020);
    std::set<std::string> ids;
    for (std::size_t k = 0; k < objs->size(); ++k) {
      ids.emplace(objs->value_at(k).get("id")->as_string());
      CHECK_FALSE(objs->value_at(k).get("revoked"));
    }
    CHECK(ids.size() == 2020);
  }
}

TEST_CASE("exports over TLS: ETag and If-None-Match, and bad input", "[integration][exports]") {
  test_server srv;
  auto admin = srv.client("admin");
  publish(admin,
          {indicator(random_stix_id("indicator"), "[url:value = 'https://x.example/a']", k_green)});
  auto bot = srv.client("bot");
  auto r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->body == "x.example/a\n");
  const auto etag = r->header("ETag");
  REQUIRE(etag);
  r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl", {{"If-None-Match", *etag}});
  REQUIRE(r);
  CHECK(r->status == 304);
  CHECK(r->body.empty());
  CHECK(r->header("ETag") == etag);
  CHECK(pulls_of(srv, "bot").size() == 1);  // the 304 recorded nothing

  publish(admin,
          {indicator(random_stix_id("indicator"), "[url:value = 'https://y.example/b']", k_green)});
  r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl", {{"If-None-Match", *etag}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "x.example/a\ny.example/b\n");
  CHECK(r->header("ETag") != etag);

  // Bad input.
  r = bot.request("GET", "/cairn/v1/export/api1/intel?format=pdf");
  REQUIRE(r);
  check_taxii_error(*r, 400, "unknown format 'pdf'");
  r = bot.request("GET", "/cairn/v1/export/api1/nosuch?format=edl");
  REQUIRE(r);
  check_taxii_error(*r, 404, "no collection 'nosuch'");
  r = bot.request("GET", "/cairn/v1/export/api1/secret?format=edl");  // bot cannot read it
  REQUIRE(r);
  check_taxii_error(*r, 404, "no collection 'secret'");
  r = bot.request("GET", "/cairn/v1/export/nosuch/intel?format=edl");
  REQUIRE(r);
  check_taxii_error(*r, 404, "no API root");
  r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl&type=hash");
  REQUIRE(r);
  check_taxii_error(*r, 400, "unknown type 'hash'");
  // The connection is still good after every error.
  r = bot.request("GET", "/cairn/v1/export/api1/intel?format=edl");
  REQUIRE(r);
  CHECK(r->status == 200);
}

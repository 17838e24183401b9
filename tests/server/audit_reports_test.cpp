// The auditor's reports on the sharing record, through the router on an
// in-memory store (api_fixture.hpp): GET /cairn/v1/audit/exposure (who holds
// which version of an object) and GET /cairn/v1/audit/stats (deliveries per
// account per hour or day), their scope and their refusals.
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "formats/time.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;
using cairn::formats::micros;

namespace {

const std::string k_shared = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_other = "0b7c3d2e-1f4a-4b5c-8d6e-7f8091a2b3c4";
const std::string k_pub = "cairn_pub_token_0123456789abcdef0123456789ab";
const std::string k_partner = "cairn_partner_token_0123456789abcdef01234567";
const std::string k_green = "cairn_green_token_0123456789abcdef0123456789a";
const std::string k_auditor = "cairn_auditor_token_0123456789abcdef01234567";
const std::string k_scoped = "cairn_scoped_token_0123456789abcdef012345678";

constexpr std::string_view k_green_marking =
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr micros k_second = 1'000'000;
constexpr micros k_hour = 3600 * k_second;

std::string config_text() {
  auto account = [](std::string name, const std::string& token, std::string rest) {
    return R"({"name": ")" + name + R"(", "token_hashes": [")" + token_hash(token) + R"("], )" +
           rest + "}";
  };
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_shared + R"(", "title": "shared", "alias": "shared"},
      {"id": ")" +
         k_other + R"(", "title": "other", "alias": "other"}]}},
    "accounts": [)" +
         account(
             "pub", k_pub,
             R"("read": ["shared", "other"], "write": ["shared", "other"], "clearance": "red")") +
         "," + account("partner", k_partner, R"("read": ["shared"], "clearance": "amber")") + "," +
         account("green", k_green, R"("read": ["shared", "other"], "clearance": "green")") + "," +
         account("auditor", k_auditor, R"("auditor": true)") + "," +
         account("scoped", k_scoped, R"("auditor": true, "read": ["other"])") + "]}";
}

std::string id_of(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08d-0000-4000-8000-000000000000", n);
  return buf;
}

std::string version_of(int v) {
  return "2026-01-0" + std::to_string(v) + "T00:00:00.000Z";
}

std::string indicator(int n, int v, bool revoked = false) {
  return R"({"type":"indicator","spec_version":"2.1","id":")" + id_of(n) +
         R"(","created":"2026-01-01T00:00:00.000Z","modified":")" + version_of(v) +
         R"(","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",)" +
         R"("valid_from":"2026-01-01T00:00:00Z",)" + (revoked ? R"("revoked":true,)" : "") +
         R"("object_marking_refs":[")" + std::string(k_green_marking) + R"("]})";
}

std::string at(micros offset) {
  return cairn::formats::format_taxii_time(test::api_epoch() + offset);
}

std::string error_body(int status, std::string_view title, const std::string& description) {
  return R"({"title":")" + std::string(title) + R"(","description":")" + description +
         R"(","http_status":")" + std::to_string(status) + R"("})";
}

std::string recipient(const std::string& account, int version, micros time, bool current) {
  return R"({"account":")" + account + R"(","last_version_received":")" + version_of(version) +
         R"(","time":")" + at(time) + R"(","current":)" + (current ? "true" : "false") + "}";
}

struct reports : test::api_fixture {
  reports() : api_fixture(config_text()) {}

  response get(const std::string& token, const std::string& target) {
    return call({http::verb::get, target, token, {}});
  }
  void publish(const std::string& collection, const std::vector<std::string>& objects) {
    std::string body = R"({"objects":[)";
    for (std::size_t i = 0; i < objects.size(); ++i) body += (i ? "," : "") + objects[i];
    body += "]}";
    REQUIRE(call({http::verb::post, "/r/collections/" + collection + "/objects/", k_pub, body})
                .result_int() == 202);
  }
  // A read that delivers what it returns (a pull record).
  void pull(const std::string& token, const std::string& target) {
    REQUIRE(get(token, target).result_int() == 200);
  }
  std::string exposure(const std::string& token, const std::string& id) {
    auto res = get(token, "/cairn/v1/audit/exposure?object=" + id);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/json");
    return res.body();
  }
};

const std::string k_shared_objects = "/r/collections/shared/objects/";

}  // namespace

TEST_CASE("audit reports: exposure lists who holds which version, and whether it is current") {
  reports f;
  f.publish("shared", {indicator(1, 1)});
  f.now = test::api_epoch() + k_second;
  f.pull(k_partner, k_shared_objects);  // v1
  f.publish("shared", {indicator(1, 2)});
  f.now = test::api_epoch() + 2 * k_second;
  f.pull(k_green, k_shared_objects);             // v2
  f.publish("shared", {indicator(1, 3, true)});  // revoked

  // Nobody has the revocation: both still hold an unrevoked version.
  CHECK(f.exposure(k_auditor, id_of(1)) ==
        R"({"object":")" + id_of(1) + R"(","current_version":")" + version_of(3) +
            R"(","revoked":true,"recipients":[)" + recipient("green", 2, 2 * k_second, false) +
            "," + recipient("partner", 1, k_second, false) + "]}");

  // The partner fetches the object: it now holds the current version.
  f.now = test::api_epoch() + 3 * k_second;
  f.pull(k_partner, k_shared_objects + id_of(1) + "/");
  CHECK(f.exposure(k_auditor, id_of(1)) ==
        R"({"object":")" + id_of(1) + R"(","current_version":")" + version_of(3) +
            R"(","revoked":true,"recipients":[)" + recipient("green", 2, 2 * k_second, false) +
            "," + recipient("partner", 3, 3 * k_second, true) + "]}");

  // A delivery of several versions counts its newest; a later one of an older
  // version is what the account received last.
  f.now = test::api_epoch() + 4 * k_second;
  f.pull(k_green, k_shared_objects + id_of(1) + "/?match[version]=all");
  f.now = test::api_epoch() + 5 * k_second;
  f.pull(k_partner, k_shared_objects + id_of(1) + "/?match[version]=first");
  CHECK(f.exposure(k_auditor, id_of(1)) ==
        R"({"object":")" + id_of(1) + R"(","current_version":")" + version_of(3) +
            R"(","revoked":true,"recipients":[)" + recipient("green", 3, 4 * k_second, true) + "," +
            recipient("partner", 1, 5 * k_second, false) + "]}");

  // An object nobody received, and one that does not exist.
  f.publish("shared", {indicator(2, 1)});
  CHECK(f.exposure(k_auditor, id_of(2)) == R"({"object":")" + id_of(2) +
                                               R"(","current_version":")" + version_of(1) +
                                               R"(","revoked":false,"recipients":[]})");
  CHECK(f.exposure(k_auditor, id_of(3)) ==
        R"({"object":")" + id_of(3) +
            R"(","current_version":null,"revoked":false,"recipients":[]})");

  // An auditor scoped to the other collection sees neither the deliveries
  // nor the versions of the shared one.
  CHECK(f.exposure(k_scoped, id_of(1)) ==
        R"({"object":")" + id_of(1) +
            R"(","current_version":null,"revoked":false,"recipients":[]})");
  f.publish("other", {indicator(1, 4)});
  f.pull(k_green, "/r/collections/other/objects/");
  const std::string in_other = R"({"object":")" + id_of(1) + R"(","current_version":")" +
                               version_of(4) + R"(","revoked":false,"recipients":[)" +
                               recipient("green", 4, 5 * k_second, true) + "]}";
  CHECK(f.exposure(k_scoped, id_of(1)) == in_other);
  // The unscoped auditor: the latest version across both collections.
  CHECK(f.exposure(k_auditor, id_of(1)) ==
        R"({"object":")" + id_of(1) + R"(","current_version":")" + version_of(4) +
            R"(","revoked":false,"recipients":[)" + recipient("green", 4, 5 * k_second, true) +
            "," + recipient("partner", 1, 5 * k_second, false) + "]}");
}

TEST_CASE("audit reports: exposure refuses what is not a question it can answer") {
  reports f;
  auto res = f.get(k_partner, "/cairn/v1/audit/exposure?object=" + id_of(1));
  CHECK(res.result_int() == 403);
  CHECK(res.body() == error_body(403, "Forbidden", "account 'partner' is not an auditor"));
  res = f.get(k_auditor, "/cairn/v1/audit/exposure");
  CHECK(res.result_int() == 400);
  CHECK(res[http::field::content_type] == "application/taxii+json;version=2.1");
  CHECK(res.body() ==
        error_body(400, "Bad Request", "object is required: the STIX id of an object"));
  res = f.get(k_auditor, "/cairn/v1/audit/exposure?object=");
  CHECK(res.result_int() == 400);
  res = f.get(k_auditor, "/cairn/v1/audit/exposure?object=198.51.100.7");
  CHECK(res.body() == error_body(400, "Bad Request", "object must be a STIX id (type--UUID)"));
  res = f.get(k_auditor, "/cairn/v1/audit/exposure?object=" + id_of(1) + "&object=" + id_of(2));
  CHECK(res.body() == error_body(400, "Bad Request", "object is given more than once"));
  res = f.get(k_auditor, "/cairn/v1/audit/exposure?id=" + id_of(1));
  CHECK(res.body() ==
        error_body(400, "Bad Request", "unknown parameter 'id' (this endpoint takes object)"));
}

TEST_CASE("audit reports: stats count deliveries per account per hour and day") {
  reports f;
  f.publish("shared", {indicator(1, 1), indicator(2, 1)});
  f.publish("other", {indicator(3, 1)});
  f.pull(k_partner, k_shared_objects);                   // 2 objects
  f.pull(k_partner, k_shared_objects + id_of(1) + "/");  // 1
  f.pull(k_green, "/r/collections/other/objects/");      // 1
  f.now = test::api_epoch() + k_hour + 5 * k_second;
  f.pull(k_green, k_shared_objects);                                                       // 2
  REQUIRE(f.get(k_green, k_shared_objects + "?match[type]=malware").result_int() == 200);  // none

  auto point = [](micros bucket, int records, int objects) {
    return R"({"time":")" + at(bucket) + R"(","records":)" + std::to_string(records) +
           R"(,"objects":)" + std::to_string(objects) + "}";
  };
  auto series = [](const std::string& account, const std::vector<std::string>& points) {
    std::string out = R"({"account":")" + account + R"(","points":[)";
    for (std::size_t i = 0; i < points.size(); ++i) out += (i ? "," : "") + points[i];
    return out + "]}";
  };
  auto stats = [&](const std::string& token, const std::string& query) {
    auto res = f.get(token, "/cairn/v1/audit/stats?" + query);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/json");
    return res.body();
  };
  const micros day_start = -10 * k_hour;  // the epoch is 10:00 UTC

  CHECK(stats(k_auditor, "bucket=hour") ==
        R"({"bucket":"hour","series":[)" + series("green", {point(0, 1, 1), point(k_hour, 1, 2)}) +
            "," + series("partner", {point(0, 2, 3)}) + "]}");
  CHECK(stats(k_auditor, "bucket=day") == R"({"bucket":"day","series":[)" +
                                              series("green", {point(day_start, 2, 3)}) + "," +
                                              series("partner", {point(day_start, 2, 3)}) + "]}");
  CHECK(stats(k_auditor, "bucket=hour&since=" + at(k_hour + 10 * k_second)) ==
        R"({"bucket":"hour","series":[)" + series("green", {point(k_hour, 1, 2)}) + "]}");
  CHECK(stats(k_auditor, "bucket=hour&until=" + at(k_hour - 1)) ==
        R"({"bucket":"hour","series":[)" + series("green", {point(0, 1, 1)}) + "," +
            series("partner", {point(0, 2, 3)}) + "]}");
  CHECK(stats(k_auditor, "bucket=hour&collection=other") ==
        R"({"bucket":"hour","series":[)" + series("green", {point(0, 1, 1)}) + "]}");
  CHECK(stats(k_auditor, "bucket=day&collection=" + k_shared) ==
        R"({"bucket":"day","series":[)" + series("green", {point(day_start, 1, 2)}) + "," +
            series("partner", {point(day_start, 2, 3)}) + "]}");
  CHECK(stats(k_auditor, "bucket=day&since=" + at(2 * 24 * k_hour)) ==
        R"({"bucket":"day","series":[]})");

  // The scoped auditor counts the deliveries of its collections only.
  CHECK(stats(k_scoped, "bucket=hour") ==
        R"({"bucket":"hour","series":[)" + series("green", {point(0, 1, 1)}) + "]}");
  CHECK(stats(k_scoped, "bucket=hour&collection=shared") == R"({"bucket":"hour","series":[]})");

  // Refusals.
  auto refused = [&](const std::string& token, const std::string& query, const std::string& why) {
    auto res = f.get(token, "/cairn/v1/audit/stats" + query);
    CHECK(res.result_int() == 400);
    CHECK(res.body() == error_body(400, "Bad Request", why));
  };
  refused(k_auditor, "", "bucket must be hour or day");
  refused(k_auditor, "?bucket=week", "bucket must be hour or day");
  refused(k_auditor, "?bucket=day&since=yesterday",
          "since is not an RFC 3339 timestamp: " +
              cairn::formats::parse_rfc3339("yesterday").error().message);
  refused(k_auditor, "?bucket=day&since=" + at(k_hour) + "&until=" + at(0), "since is after until");
  refused(k_auditor, "?bucket=day&account=green",
          "unknown parameter 'account' (this endpoint takes bucket, since, until, collection)");
  auto res = f.get(k_green, "/cairn/v1/audit/stats?bucket=day");
  CHECK(res.result_int() == 403);
}

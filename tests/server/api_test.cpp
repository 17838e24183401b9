// The TAXII API and the sharing record's endpoint as a client sees them,
// through the router on an in-memory store (api_fixture.hpp): statuses,
// headers and bodies of publish, objects, manifest, object, versions, status
// and delete, paging, the TLP sharing policy, the audit records, and what a
// failed commit answers.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <future>
#include <vector>

#include "api_fixture.hpp"
#include "formats/json.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;
using cairn::formats::micros;

namespace {

const std::string k_collection = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_objects = "/r/collections/shared/objects/";
const std::string k_manifest = "/r/collections/shared/manifest/";
// pub publishes at red; partner reads at amber; auditor reads the record.
const std::string k_pub = "cairn_pub_token_0123456789abcdef0123456789ab";
const std::string k_partner = "cairn_partner_token_0123456789abcdef01234567";
const std::string k_auditor = "cairn_auditor_token_0123456789abcdef01234567";

constexpr std::string_view k_green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr std::string_view k_red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
constexpr micros k_second = 1'000'000;

std::string config_text() {
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_collection + R"(", "title": "shared", "alias": "shared"}]}},
    "accounts": [
      {"name": "pub", "token_hashes": [")" +
         token_hash(k_pub) + R"("], "read": ["shared"], "write": ["shared"], "clearance": "red"},
      {"name": "partner", "token_hashes": [")" +
         token_hash(k_partner) + R"("], "read": ["shared"], "clearance": "amber"},
      {"name": "auditor", "token_hashes": [")" +
         token_hash(k_auditor) + R"("], "auditor": true}
    ]})";
}

std::string id_of(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08d-0000-4000-8000-000000000000", n);
  return buf;
}

// Version v of object n: modified 2026-01-0v.
std::string version_of(int v) {
  return "2026-01-0" + std::to_string(v) + "T00:00:00.000Z";
}

// A valid indicator, minified as the store keeps and returns it.
std::string indicator(int n, int v, std::string_view marking) {
  return R"({"type":"indicator","spec_version":"2.1","id":")" + id_of(n) +
         R"(","created":"2026-01-01T00:00:00.000Z","modified":")" + version_of(v) +
         R"(","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",)" +
         R"("valid_from":"2026-01-01T00:00:00Z","object_marking_refs":[")" + std::string(marking) +
         R"("]})";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string envelope(const std::vector<std::string>& objects) {
  return R"({"objects":[)" + join(objects) + "]}";
}

// A page as the server writes it: items under key, then more and next.
std::string page(std::string_view key, const std::vector<std::string>& items, bool more,
                 const std::string& next = {}) {
  std::string out = "{";
  if (!items.empty()) out += "\"" + std::string(key) + "\":[" + join(items) + "],";
  out += more ? "\"more\":true" : "\"more\":false";
  if (!next.empty()) out += ",\"next\":\"" + next + "\"";
  return out + "}";
}

// The store's clock at epoch + offset, as TAXII writes times.
std::string at(micros offset) {
  return cairn::formats::format_taxii_time(test::api_epoch() + offset);
}

std::string manifest_entry(int n, int v, micros added) {
  return R"({"id":")" + id_of(n) + R"(","date_added":")" + at(added) + R"(","version":")" +
         version_of(v) + R"(","media_type":"application/stix+json;version=2.1"})";
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string error_body(int status, std::string_view title, const std::string& description) {
  return R"({"title":")" + std::string(title) + R"(","description":")" + description +
         R"(","http_status":")" + std::to_string(status) + R"("})";
}

std::string member(const response& res, std::string_view key) {
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  auto m = doc->root().get(key);
  REQUIRE(m);
  return std::string(m->as_string());
}

// The exchange with three accounts, and requests as they send them.
struct api : test::api_fixture {
  api() : api_fixture(config_text()) {}

  response get(const std::string& token, const std::string& target) {
    return call({http::verb::get, target, token, {}});
  }
  response post(const std::string& token, const std::vector<std::string>& objects) {
    return call({http::verb::post, k_objects, token, envelope(objects)});
  }
  response del(const std::string& token, const std::string& target) {
    return call({http::verb::delete_, target, token, {}});
  }
  // pub publishes objects at the clock's time; the clock then moves a second.
  void publish(const std::vector<std::string>& objects) {
    REQUIRE(post(k_pub, objects).result_int() == 202);
    now += k_second;
  }
};

void check_taxii(const response& res, unsigned status) {
  CHECK(res.result_int() == status);
  CHECK(res[http::field::content_type] == "application/taxii+json;version=2.1");
}

void check_dates(const response& res, micros first, micros last) {
  CHECK(std::string(res["X-TAXII-Date-Added-First"]) == at(first));
  CHECK(std::string(res["X-TAXII-Date-Added-Last"]) == at(last));
}

void check_no_dates(const response& res) {
  CHECK(res.find("X-TAXII-Date-Added-First") == res.end());
  CHECK(res.find("X-TAXII-Date-Added-Last") == res.end());
}

}  // namespace

TEST_CASE("api: a publish answers 202 with its status, the objects come back as sent") {
  api f;
  const auto a = indicator(1, 1, k_green);
  const auto b = indicator(2, 1, k_green);
  auto res = f.post(k_pub, {a, b});
  check_taxii(res, 202);
  // Its id is a new UUID and its request_timestamp the real time.
  const auto id = member(res, "id");
  CHECK(res.body() == R"({"id":")" + id + R"(","status":"complete","request_timestamp":")" +
                          member(res, "request_timestamp") +
                          R"(","total_count":2,"success_count":2,"successes":[)" + R"({"id":")" +
                          id_of(1) + R"(","version":")" + version_of(1) + R"("},{"id":")" +
                          id_of(2) + R"(","version":")" + version_of(1) +
                          R"("}],"failure_count":0,"pending_count":0})");

  res = f.get(k_partner, k_objects);
  check_taxii(res, 200);
  CHECK(res.body() == page("objects", {a, b}, false));
  // One transaction: consecutive positions from the store's clock on.
  check_dates(res, 0, 1);

  // An empty collection: no list, no dates.
  res = f.get(k_partner, "/r/collections/shared/objects/?match[type]=malware");
  check_taxii(res, 200);
  CHECK(res.body() == R"({"more":false})");
  check_no_dates(res);
}

TEST_CASE("api: objects, manifest, object and versions page with limit and next") {
  api f;
  const auto a = indicator(1, 1, k_green);
  const auto b = indicator(2, 1, k_green);
  const auto c = indicator(3, 1, k_green);
  f.publish({a});
  f.publish({b});
  f.publish({c});

  auto res = f.get(k_partner, k_objects + "?limit=2");
  check_taxii(res, 200);
  auto next = member(res, "next");
  CHECK(res.body() == page("objects", {a, b}, true, next));
  check_dates(res, 0, k_second);
  res = f.get(k_partner, k_objects + "?limit=2&next=" + next);
  check_taxii(res, 200);
  CHECK(res.body() == page("objects", {c}, false));
  check_dates(res, 2 * k_second, 2 * k_second);

  res = f.get(k_partner, k_manifest + "?limit=2");
  check_taxii(res, 200);
  next = member(res, "next");
  CHECK(res.body() ==
        page("objects", {manifest_entry(1, 1, 0), manifest_entry(2, 1, k_second)}, true, next));
  check_dates(res, 0, k_second);
  res = f.get(k_partner, k_manifest + "?limit=2&next=" + next);
  CHECK(res.body() == page("objects", {manifest_entry(3, 1, 2 * k_second)}, false));
  check_dates(res, 2 * k_second, 2 * k_second);

  // A token is bound to its path and account.
  res = f.get(k_partner, k_objects + "?limit=2&next=" + next);
  check_taxii(res, 400);
  CHECK(res.body() == error_body(400, "Bad Request",
                                 "next: this token was not issued for this query, this account "
                                 "and these filters (send the same filters as the first request)"));

  // Three versions of one object.
  const auto x2 = indicator(9, 2, k_green);
  const auto x3 = indicator(9, 3, k_green);
  f.publish({indicator(9, 1, k_green)});
  f.publish({x2});
  f.publish({x3});
  const std::string x = k_objects + id_of(9) + "/";
  res = f.get(k_partner, x + "versions/?limit=2");
  check_taxii(res, 200);
  next = member(res, "next");
  CHECK(res.body() == page("versions", {quoted(version_of(1)), quoted(version_of(2))}, true, next));
  check_dates(res, 3 * k_second, 4 * k_second);
  res = f.get(k_partner, x + "versions/?limit=2&next=" + next);
  CHECK(res.body() == page("versions", {quoted(version_of(3))}, false));
  check_dates(res, 5 * k_second, 5 * k_second);

  // The object endpoint gives the last version unless asked for more.
  res = f.get(k_partner, x);
  check_taxii(res, 200);
  CHECK(res.body() == page("objects", {x3}, false));
  check_dates(res, 5 * k_second, 5 * k_second);
  res = f.get(k_partner, x + "?match[version]=all&limit=2");
  next = member(res, "next");
  CHECK(res.body() == page("objects", {indicator(9, 1, k_green), x2}, true, next));
  res = f.get(k_partner, x + "?match[version]=all&limit=2&next=" + next);
  CHECK(res.body() == page("objects", {x3}, false));
}

TEST_CASE("api: an account below an object's TLP level sees no trace of it") {
  api f;
  const auto a = indicator(1, 1, k_green);
  const auto r = indicator(2, 1, k_red);
  const auto b = indicator(3, 1, k_green);
  const auto x1 = indicator(4, 1, k_green);
  const auto x2 = indicator(4, 2, k_red);
  const auto r_last = indicator(5, 1, k_red);
  for (const auto& o : {a, r, b, x1, x2, r_last}) f.publish({o});  // at 0 s, 1 s, ... 5 s

  // partner (amber): A, B and X's first version, without a gap or `more` for
  // the red ones between and after them.
  auto res = f.get(k_partner, k_objects);
  check_taxii(res, 200);
  CHECK(res.body() == page("objects", {a, b, x1}, false));
  check_dates(res, 0, 3 * k_second);
  res = f.get(k_partner, k_objects + "?limit=2");
  auto next = member(res, "next");
  CHECK(res.body() == page("objects", {a, b}, true, next));
  check_dates(res, 0, 2 * k_second);
  res = f.get(k_partner, k_objects + "?limit=2&next=" + next);
  CHECK(res.body() == page("objects", {x1}, false));
  check_dates(res, 3 * k_second, 3 * k_second);

  res = f.get(k_partner, k_manifest);
  CHECK(res.body() == page("objects",
                           {manifest_entry(1, 1, 0), manifest_entry(3, 1, 2 * k_second),
                            manifest_entry(4, 1, 3 * k_second)},
                           false));
  check_dates(res, 0, 3 * k_second);

  // The red object does not exist for partner.
  for (const auto& path : {k_objects + id_of(2) + "/", k_objects + id_of(2) + "/versions/"}) {
    res = f.get(k_partner, path);
    check_taxii(res, 404);
    CHECK(res.body() ==
          error_body(404, "Not Found", "no object " + id_of(2) + " in this collection"));
  }
  // X's red version neither shows nor makes the green one less than the last.
  const std::string x = k_objects + id_of(4) + "/";
  res = f.get(k_partner, x);
  CHECK(res.body() == page("objects", {x1}, false));
  check_dates(res, 3 * k_second, 3 * k_second);
  res = f.get(k_partner, x + "versions/");
  CHECK(res.body() == page("versions", {quoted(version_of(1))}, false));
  check_dates(res, 3 * k_second, 3 * k_second);

  // pub (red) sees everything: of X, its last version.
  res = f.get(k_pub, k_objects);
  CHECK(res.body() == page("objects", {a, r, b, x2, r_last}, false));
  check_dates(res, 0, 5 * k_second);
  res = f.get(k_pub, x);
  CHECK(res.body() == page("objects", {x2}, false));
}

TEST_CASE("api: the status of a publish is its publisher's alone") {
  api f;
  // One valid object and one whose pattern does not parse.
  auto broken = indicator(2, 1, k_green);
  broken.replace(broken.find("198.51.100.7']"), 14, "198.51.100.7'");
  auto posted = f.post(k_pub, {indicator(1, 1, k_green), broken});
  check_taxii(posted, 202);
  auto doc = cairn::formats::parse_json(posted.body());
  REQUIRE(doc);
  CHECK(doc->root().get("success_count")->as_int() == 1);
  CHECK(doc->root().get("failure_count")->as_int() == 1);
  CHECK(doc->root().get("failures")->value_at(0).get("id")->as_string() == id_of(2));
  const auto id = member(posted, "id");

  // The status resource says what the POST's answer said.
  auto res = f.get(k_pub, "/r/status/" + id + "/");
  check_taxii(res, 200);
  CHECK(res.body() == posted.body());

  for (const auto& token : {k_partner, k_auditor}) {
    res = f.get(token, "/r/status/" + id + "/");
    check_taxii(res, 404);
    CHECK(res.body() == error_body(404, "Not Found", "no status " + id + " in this API root"));
  }
  res = f.get(k_pub, "/r/status/00000000-0000-4000-8000-000000000000/");
  check_taxii(res, 404);
}

TEST_CASE("api: DELETE removes the versions its filter names, or all of them") {
  api f;
  const auto x2 = indicator(1, 2, k_green);
  f.publish({indicator(1, 1, k_green), x2});
  const std::string x = k_objects + id_of(1) + "/";

  auto res = f.del(k_pub, x + "?match[version]=" + version_of(1));
  check_taxii(res, 200);
  CHECK(res.body().empty());
  res = f.get(k_partner, x + "versions/");
  CHECK(res.body() == page("versions", {quoted(version_of(2))}, false));

  res = f.del(k_pub, x);
  check_taxii(res, 200);
  res = f.get(k_partner, x);
  check_taxii(res, 404);
  CHECK(res.body() ==
        error_body(404, "Not Found", "no object " + id_of(1) + " in this collection"));
  CHECK(f.get(k_partner, k_objects).body() == R"({"more":false})");
  res = f.del(k_pub, x);
  check_taxii(res, 404);
  CHECK(res.body() ==
        error_body(404, "Not Found", "no object " + id_of(1) + " in this collection"));
}

TEST_CASE("api: the audit endpoint shows auditors the publish and the pull") {
  api f;
  const auto a = indicator(1, 1, k_green);
  f.publish({a});
  f.now = test::api_epoch();  // every record at the epoch

  // Only auditors; the refusal is recorded.
  auto res = f.get(k_pub, "/cairn/v1/audit");
  check_taxii(res, 403);
  CHECK(res.body() == error_body(403, "Forbidden", "account 'pub' is not an auditor"));
  // The pull is recorded before the objects are sent.
  REQUIRE(f.get(k_partner, k_objects).body() == page("objects", {a}, false));

  res = f.get(k_auditor, "/cairn/v1/audit");
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/json");
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  CHECK(doc->root().get("more")->as_bool() == false);
  const auto records = *doc->root().get("records");
  REQUIRE(records.size() == 4);
  // Each record without its chain members (prev, hash), as canonical JSON.
  static constexpr std::string_view chain[] = {"prev", "hash"};
  auto body = [&](std::size_t i) { return canonical_json(records.value_at(i), chain); };
  const std::string time = R"("time":")" + at(0) + R"("})";
  const std::string objects =
      R"("objects":[{"id":")" + id_of(1) + R"(","version":")" + version_of(1) + R"("}],)";
  const std::string where = R"("api_root":"r","collection":")" + k_collection + R"(",)";
  CHECK(body(0) == R"({"account":"","action":"config","api_root":"","collection":"","objects":[],)"
                   R"("remote":"","seq":1,"sha256":")" +
                       f.ex().current()->cfg->sha256 + R"(","status":0,)" + time);
  CHECK(body(1) == R"({"account":"pub","action":"publish",)" + where + objects +
                       R"("remote":"10.0.0.1","seq":2,"status":202,)" + time);
  CHECK(body(2) ==
        R"({"account":"pub","action":"denied","api_root":"","collection":"","objects":[],)"
        R"("remote":"10.0.0.1","seq":3,"status":403,)" +
            time);
  CHECK(body(3) == R"({"account":"partner","action":"pull",)" + where + objects +
                       R"("remote":"10.0.0.1","seq":4,"status":200,)" + time);

  // Filtered by action and by object.
  res = f.get(k_auditor, "/cairn/v1/audit?action=pull");
  doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  REQUIRE(doc->root().get("records")->size() == 1);
  CHECK(doc->root().get("records")->value_at(0).get("seq")->as_int() == 4);
  res = f.get(k_auditor, "/cairn/v1/audit?object=" + id_of(1));
  doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  CHECK(doc->root().get("records")->size() == 2);  // the publish and the pull
}

TEST_CASE("api: a failed commit answers a TAXII error, 503 or 507, and stores nothing") {
  api f;
  const auto a = indicator(1, 1, k_green);
  const auto b = indicator(2, 1, k_green);

  // A commit that may succeed later: 503.
  f.store().fail_next_writes(1);
  auto res = f.post(k_pub, {a});
  check_taxii(res, 503);
  CHECK(res.body() == error_body(503, "Service Unavailable",
                                 "the objects could not be stored: commit failed: Input/output "
                                 "error; nothing was added"));
  CHECK(f.get(k_pub, k_objects).body() == R"({"more":false})");

  // A full disk: 507.
  f.fault = ENOSPC;
  res = f.post(k_pub, {a});
  check_taxii(res, 507);
  CHECK(res.body() == error_body(507, "Insufficient Storage",
                                 "the objects could not be stored: commit failed: No space left "
                                 "on device; nothing was added"));
  CHECK(f.get(k_pub, k_objects).body() == R"({"more":false})");

  // The next write goes through.
  f.publish({a, b});

  // A pull whose record cannot be stored sends nothing of the page.
  f.store().fail_next_writes(1);
  res = f.get(k_partner, k_objects);
  check_taxii(res, 503);
  CHECK(res.body() == error_body(503, "Service Unavailable",
                                 "the delivery could not be recorded, so nothing was sent: "
                                 "commit failed: Input/output error"));

  // A delete that cannot commit leaves the object.
  f.store().fail_next_writes(1);
  res = f.del(k_pub, k_objects + id_of(1) + "/");
  check_taxii(res, 503);
  CHECK(res.body() ==
        error_body(503, "Service Unavailable",
                   "the object could not be deleted: commit failed: Input/output error"));
  CHECK(f.get(k_partner, k_objects).body() == page("objects", {a, b}, false));
}

TEST_CASE("api: while the store cannot be reached, every request that needs it gets a 503") {
  api f;
  const auto a = indicator(1, 1, k_green);
  auto posted = f.post(k_pub, {a});
  REQUIRE(posted.result_int() == 202);
  const auto status_id = member(posted, "id");
  const auto size_before = f.store().audit_size();
  REQUIRE(size_before);

  f.store().set_unavailable(true);
  // Before: health said ok, pages were empty 200s and objects 404s.
  auto res = f.get("", "/cairn/v1/health");
  CHECK(res.result_int() == 503);
  CHECK(res[http::field::content_type] == "application/json");
  CHECK(res.body() == R"({"status":"degraded"})");
  CHECK(std::string(res[http::field::retry_after]) == "5");

  const std::string x = k_objects + id_of(1) + "/";
  struct probe {
    std::string token, target;
    http::verb method = http::verb::get;
  };
  const std::vector<probe> taxii = {
      {k_partner, k_objects},         {k_partner, k_objects + "?added_after=" + at(0)},
      {k_partner, k_manifest},        {k_partner, x},
      {k_partner, x + "versions/"},   {k_pub, "/r/status/" + status_id + "/"},
      {k_pub, x, http::verb::delete_}};
  for (const auto& p : taxii) {
    INFO(p.target);
    res = f.call({p.method, p.target, p.token, {}});
    check_taxii(res, 503);
    CHECK(std::string(res[http::field::retry_after]) == "5");
    CHECK(res.body().find("\"http_status\":\"503\"") != std::string::npos);
  }
  res = f.post(k_pub, {indicator(2, 1, k_green)});
  check_taxii(res, 503);
  CHECK(std::string(res[http::field::retry_after]) == "5");

  for (const std::string target :
       {"/cairn/v1/audit", "/cairn/v1/audit/checkpoint", "/cairn/v1/audit/proof?seq=1&tree_size=1",
        "/cairn/v1/audit/consistency?from=1&to=2"}) {
    INFO(target);
    res = f.get(k_auditor, target);
    CHECK(res.result_int() == 503);
    CHECK(std::string(res[http::field::retry_after]) == "5");
  }
  // What needs no store still answers.
  check_taxii(f.get(k_partner, "/taxii2/"), 200);
  check_taxii(f.get(k_partner, "/r/collections/"), 200);

  // Back: the same requests answer as before the outage, and the outage
  // added nothing (no pull record for pages that were never sent, no
  // object, no delete).
  f.store().set_unavailable(false);
  res = f.get("", "/cairn/v1/health");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == R"({"status":"ok"})");
  CHECK(res.find(http::field::retry_after) == res.end());
  auto after = f.store().audit_size();
  REQUIRE(after);
  CHECK(*after == *size_before);
  res = f.get(k_partner, k_objects);
  check_taxii(res, 200);
  CHECK(res.body() == page("objects", {a}, false));
  check_taxii(f.get(k_pub, "/r/status/" + status_id + "/"), 200);
}

namespace {

const std::string k_scoped = "cairn_scoped_token_0123456789abcdef012345678";

// config_text() plus an auditor whose read list names the collection.
std::string config_with_scoped_auditor() {
  std::string text = config_text();
  const std::string last = R"("auditor": true})";
  text.replace(text.rfind(last), last.size(),
               last + R"(, {"name": "scoped", "token_hashes": [")" + token_hash(k_scoped) +
                   R"("], "read": ["shared"], "auditor": true})");
  return text;
}

// An alert as the monitor records it, stored before this returns.
std::uint64_t record_alert(test::api_fixture& f, std::string kind, std::string account,
                           std::string detail, std::vector<std::uint64_t> evidence) {
  cairn::storage::audit_entry e;
  e.action = "alert";
  e.kind = std::move(kind);
  e.account = std::move(account);
  e.remote = "203.0.113.9";
  e.detail = std::move(detail);
  e.evidence = std::move(evidence);
  std::promise<cairn::result<std::uint64_t>> done;
  f.store().record(std::move(e), [&](cairn::result<std::uint64_t> seq) { done.set_value(seq); });
  auto seq = done.get_future().get();
  REQUIRE(seq);
  return *seq;
}

std::string alert_entry(std::uint64_t seq, micros offset, std::string_view kind,
                        std::string_view account, std::string_view detail,
                        std::string_view evidence) {
  return R"({"account":")" + std::string(account) + R"(","detail":")" + std::string(detail) +
         R"(","evidence":[)" + std::string(evidence) + R"(],"kind":")" + std::string(kind) +
         R"(","remote":"203.0.113.9","seq":)" + std::to_string(seq) + R"(,"time":")" + at(offset) +
         R"("})";
}

struct scoped_api : test::api_fixture {
  scoped_api() : api_fixture(config_with_scoped_auditor()) {}
  response get(const std::string& token, const std::string& target) {
    return call({http::verb::get, target, token, {}});
  }
};

}  // namespace

TEST_CASE("api: GET /cairn/v1/alerts lists alert records with their filters and paging") {
  scoped_api f;
  // seq 1 is the config record; 2 a denied request the alert points at.
  REQUIRE(f.get(k_partner, "/cairn/v1/audit").result_int() == 403);
  f.now = test::api_epoch() + 10 * k_second;
  REQUIRE(record_alert(f, "denied-burst", "partner", "20 refused requests within 60 s", {2}) == 3);
  f.now = test::api_epoch() + 20 * k_second;
  REQUIRE(record_alert(f, "auth-failure-burst", "", "10 failed authentications from 203.0.113.9",
                       {1, 2}) == 4);
  f.now = test::api_epoch() + 30 * k_second;
  REQUIRE(record_alert(f, "denied-burst", "pub", "refused \"twice\"", {}) == 5);
  const std::string a3 = alert_entry(3, 10 * k_second, "denied-burst", "partner",
                                     "20 refused requests within 60 s", "2");
  const std::string a4 = alert_entry(4, 20 * k_second, "auth-failure-burst", "",
                                     "10 failed authentications from 203.0.113.9", "1,2");
  const std::string a5 =
      alert_entry(5, 30 * k_second, "denied-burst", "pub", R"(refused \"twice\")", "");

  auto res = f.get(k_auditor, "/cairn/v1/alerts");
  CHECK(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/json");
  CHECK(res.body() == page("alerts", {a3, a4, a5}, false));
  // A scoped auditor sees them too: alerts name no collection.
  CHECK(f.get(k_scoped, "/cairn/v1/alerts").body() == page("alerts", {a3, a4, a5}, false));

  // Filters.
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?kind=denied-burst").body() ==
        page("alerts", {a3, a5}, false));
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?kind=volume").body() == R"({"alerts":[],"more":false})");
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?account=pub").body() == page("alerts", {a5}, false));
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?kind=denied-burst&account=partner").body() ==
        page("alerts", {a3}, false));
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?since=" + at(15 * k_second)).body() ==
        page("alerts", {a4, a5}, false));
  CHECK(f.get(k_auditor,
              "/cairn/v1/alerts?since=" + at(15 * k_second) + "&until=" + at(25 * k_second))
            .body() == page("alerts", {a4}, false));

  // Paging: limit and next, bound to the filters and the account.
  res = f.get(k_auditor, "/cairn/v1/alerts?limit=2");
  auto doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  CHECK(doc->root().get("more")->as_bool());
  const std::string next = member(res, "next");
  CHECK(res.body() == page("alerts", {a3, a4}, true, next));
  CHECK(f.get(k_auditor, "/cairn/v1/alerts?limit=2&next=" + next).body() ==
        page("alerts", {a5}, false));
  res = f.get(k_auditor, "/cairn/v1/alerts?limit=2&kind=volume&next=" + next);
  check_taxii(res, 400);
  CHECK(f.get(k_scoped, "/cairn/v1/alerts?limit=2&next=" + next).result_int() == 400);

  // The audit endpoint lists them with their members.
  res = f.get(k_auditor, "/cairn/v1/audit?action=alert");
  doc = cairn::formats::parse_json(res.body());
  REQUIRE(doc);
  const auto records = *doc->root().get("records");
  REQUIRE(records.size() == 3);
  static constexpr std::string_view chain[] = {"prev", "hash"};
  CHECK(canonical_json(records.value_at(0), chain) ==
        R"({"account":"partner","action":"alert","api_root":"","collection":"",)"
        R"("detail":"20 refused requests within 60 s","evidence":[2],"kind":"denied-burst",)"
        R"("objects":[],"remote":"203.0.113.9","seq":3,"status":0,"time":")" +
            at(10 * k_second) + R"("})");
  doc = cairn::formats::parse_json(f.get(k_scoped, "/cairn/v1/audit?action=alert").body());
  REQUIRE(doc);
  CHECK(doc->root().get("records")->size() == 3);
}

TEST_CASE("api: /cairn/v1/alerts refuses non-auditors and bad filters with TAXII errors") {
  scoped_api f;
  auto res = f.get(k_partner, "/cairn/v1/alerts");
  check_taxii(res, 403);
  CHECK(res.body() == error_body(403, "Forbidden", "account 'partner' is not an auditor"));
  // The refusal is recorded, as for /cairn/v1/audit (without delaying the
  // answer: wait for a write queued after it, as writes run in order).
  std::promise<void> flushed;
  f.store().checkpoint_now([&](auto) { flushed.set_value(); });
  flushed.get_future().wait();
  auto last = f.store().audit_record_json(f.store().audit_size().value()).value();
  REQUIRE(last);
  CHECK(last->find(R"("action":"denied")") != std::string::npos);
  CHECK(last->find(R"("account":"partner")") != std::string::npos);
  res = f.get("", "/cairn/v1/alerts");
  check_taxii(res, 401);
  res = f.get("wrong_token_0123456789abcdef0123456789abcdef", "/cairn/v1/alerts");
  check_taxii(res, 401);

  struct bad {
    const char* query;
    const char* description;
  };
  for (const bad& b : {
           bad{"?kind=meteor",
               "kind must be one of auth-failure-burst, denied-burst, new-address, volume, "
               "suspended-use"},
           bad{"?kind=",
               "kind must be one of auth-failure-burst, denied-burst, new-address, "
               "volume, suspended-use"},
           bad{"?action=pull",
               "unknown parameter 'action' (this endpoint takes since, until, kind, account, "
               "limit, next)"},
           bad{"?since=yesterday", nullptr},
           bad{"?until=2026-13-01T00:00:00Z", nullptr},
           bad{"?limit=0", "limit must be a positive integer"},
           bad{"?limit=-1", "limit must be a positive integer"},
           bad{"?next=forged",
               "next: this token was not issued for this query and account (send "
               "the same filters)"},
       }) {
    INFO(b.query);
    res = f.get(k_auditor, std::string("/cairn/v1/alerts") + b.query);
    check_taxii(res, 400);
    if (b.description) {
      CHECK(member(res, "description") == b.description);
    } else {
      CHECK_FALSE(member(res, "description").empty());
    }
  }
  res = f.call({http::verb::post, "/cairn/v1/alerts", k_auditor, {}});
  check_taxii(res, 405);
  CHECK(std::string(res[http::field::allow]) == "GET");
}

TEST_CASE(
    "api: discovery, API root and collections answer the current config and the caller's rights") {
  api f;
  const std::string media = R"("media_types":["application/stix+json;version=2.1"])";
  const std::string shared_for_pub = R"({"id":")" + k_collection +
                                     R"(","title":"shared","alias":"shared","can_read":true,)" +
                                     R"("can_write":true,)" + media + "}";
  const std::string shared_for_partner = R"({"id":")" + k_collection +
                                         R"(","title":"shared","alias":"shared","can_read":true,)" +
                                         R"("can_write":false,)" + media + "}";
  auto res = f.get(k_partner, "/taxii2/");
  check_taxii(res, 200);
  CHECK(res.body() == R"({"title":"t","default":"/r/","api_roots":["/r/"]})");
  CHECK(std::string(res[http::field::cache_control]) == "no-store");
  res = f.get(k_partner, "/r/");
  check_taxii(res, 200);
  CHECK(res.body() ==
        R"({"title":"r","versions":["application/taxii+json;version=2.1"],"max_content_length":)" +
            std::to_string(f.ex().current()->cfg->limits.max_content_length) + "}");
  // Each account sees its own rights on a collection, and only the
  // collections it has a right on.
  CHECK(f.get(k_pub, "/r/collections/shared/").body() == shared_for_pub);
  CHECK(f.get(k_partner, "/r/collections/" + k_collection + "/").body() == shared_for_partner);
  CHECK(f.get(k_pub, "/r/collections/").body() == R"({"collections":[)" + shared_for_pub + "]}");
  CHECK(f.get(k_partner, "/r/collections/").body() ==
        R"({"collections":[)" + shared_for_partner + "]}");
  res = f.get(k_auditor, "/r/collections/");
  check_taxii(res, 200);
  CHECK(res.body() == "{}");

  // A reload: the new snapshot's resources, from the next request on.
  std::string text = config_text();
  const auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace(R"("title": "t")", R"("title": "renamed", "description": "d")");
  replace(R"("r": {"title": "r",)", R"("r": {"title": "root r", "description": "rd",)");
  replace(R"("alias": "shared"})",
          R"("alias": "shared"}, {"id": "0d4c2f8e-3b7a-4c1e-9f5d-2a6b8c0e1f34", "title": "more",)"
          R"( "description": "added"})");
  replace(R"("read": ["shared"], "clearance": "amber")",
          R"("read": ["shared", "0d4c2f8e-3b7a-4c1e-9f5d-2a6b8c0e1f34"], "clearance": "amber")");
  auto cfg = parse_config(text, "/");
  REQUIRE(cfg);
  cfg->data_dir = f.ex().current()->cfg->data_dir;
  REQUIRE(f.ex().apply(std::move(*cfg)));
  CHECK(f.get(k_partner, "/taxii2/").body() ==
        R"({"title":"renamed","description":"d","default":"/r/","api_roots":["/r/"]})");
  CHECK(member(f.get(k_partner, "/r/"), "title") == "root r");
  CHECK(member(f.get(k_partner, "/r/"), "description") == "rd");
  const std::string more_for_partner =
      R"({"id":"0d4c2f8e-3b7a-4c1e-9f5d-2a6b8c0e1f34","title":"more","description":"added",)"
      R"("can_read":true,"can_write":false,)" +
      media + "}";
  CHECK(f.get(k_partner, "/r/collections/").body() ==
        R"({"collections":[)" + shared_for_partner + "," + more_for_partner + "]}");
  CHECK(f.get(k_partner, "/r/collections/0d4c2f8e-3b7a-4c1e-9f5d-2a6b8c0e1f34/").body() ==
        more_for_partner);
  // pub has no right on the new collection: it does not exist for it.
  CHECK(f.get(k_pub, "/r/collections/").body() == R"({"collections":[)" + shared_for_pub + "]}");
  CHECK(f.get(k_pub, "/r/collections/0d4c2f8e-3b7a-4c1e-9f5d-2a6b8c0e1f34/").result_int() == 404);
}

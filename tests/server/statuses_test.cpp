// GET /cairn/v1/statuses as a client sees it, through the router on an
// in-memory store (api_fixture.hpp): only the caller's own statuses, newest
// first, with the counts of the TAXII status resource; paging by an opaque
// token bound to the account; 400 for every bad parameter. Also the token
// helpers on their own.
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "formats/json.hpp"
#include "server/api/query.hpp"
#include "server/api/statuses_service.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;

namespace {

const std::string k_shared = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";
const std::string k_pub = "cairn_pub_token_0123456789abcdef0123456789ab";
const std::string k_partner = "cairn_partner_token_0123456789abcdef01234567";
const std::string k_writer = "cairn_writer_token_0123456789abcdef01234567";

std::string config_text() {
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "c", "key": "k"},
    "discovery": {"title": "t", "default": "r"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" +
         k_shared + R"(", "title": "shared", "alias": "shared"}]}},
    "accounts": [
      {"name": "pub", "token_hashes": [")" +
         token_hash(k_pub) + R"("], "read": ["*"], "write": ["*"], "clearance": "red"},
      {"name": "partner", "token_hashes": [")" +
         token_hash(k_partner) + R"("], "read": ["shared"], "clearance": "amber"},
      {"name": "writer", "token_hashes": [")" +
         token_hash(k_writer) + R"("], "write": ["shared"], "clearance": "red"}
    ]})";
}

std::string indicator(int n) {
  char id[64];
  std::snprintf(id, sizeof id, "indicator--%08d-0000-4000-8000-000000000000", n);
  return R"({"type":"indicator","spec_version":"2.1","id":")" + std::string(id) +
         R"(","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",)"
         R"("pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix",)"
         R"("valid_from":"2020-01-01T00:00:00Z"})";
}

// An object that does not validate (no pattern): a failure in its status.
std::string invalid_indicator() {
  return R"({"type":"indicator","spec_version":"2.1","id":"indicator--99999999-0000-4000-8000-000000000000",)"
         R"("created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"})";
}

cairn::formats::json_document parsed(const std::string& text) {
  auto doc = cairn::formats::parse_json(text);
  REQUIRE(doc);
  return std::move(*doc);
}

struct statuses : test::api_fixture {
  statuses() : api_fixture(config_text()) {}

  response get(const std::string& token, const std::string& target) {
    return call({http::verb::get, target, token, {}});
  }
  // Publishes the objects as `token`; returns the status id.
  std::string publish(const std::string& token, const std::vector<std::string>& objects) {
    std::string body = R"({"objects":[)";
    for (std::size_t k = 0; k < objects.size(); ++k) body += (k ? "," : "") + objects[k];
    body += "]}";
    auto res = call({http::verb::post, "/r/collections/shared/objects/", token, body});
    REQUIRE(res.result_int() == 202);
    now += 1'000'000;
    return std::string(parsed(res.body()).root().get("id")->as_string());
  }
};

struct listed {
  std::vector<std::string> ids;
  bool more = false;
  std::string next;
};

listed list(statuses& f, const std::string& token, const std::string& target) {
  auto res = f.get(token, target);
  INFO(res.body());
  REQUIRE(res.result_int() == 200);
  CHECK(res[http::field::content_type] == "application/json");
  auto doc = parsed(res.body());
  listed out;
  auto items = doc.root().get("statuses");
  REQUIRE(items);
  for (std::size_t k = 0; k < items->size(); ++k) {
    out.ids.emplace_back(items->value_at(k).get("id")->as_string());
  }
  out.more = doc.root().get("more")->as_bool();
  auto next = doc.root().get("next");
  CHECK(bool(next) == out.more);  // next only when more
  if (next) out.next = next->as_string();
  return out;
}

void check_error(const response& res, unsigned status, std::string_view needle) {
  INFO(res.body());
  CHECK(res.result_int() == status);
  auto doc = parsed(res.body());
  auto d = doc.root().get("description");
  REQUIRE(d);
  CHECK(d->as_string().find(needle) != std::string_view::npos);
}

}  // namespace

TEST_CASE("statuses: the caller's own, newest first, with the TAXII counts") {
  statuses f;
  const std::string first = f.publish(k_pub, {indicator(1), indicator(2)});
  const std::string second = f.publish(k_pub, {indicator(3), invalid_indicator()});
  const std::string others = f.publish(k_writer, {indicator(4)});

  auto res = f.get(k_pub, "/cairn/v1/statuses");
  REQUIRE(res.result_int() == 200);
  auto doc = parsed(res.body());
  CHECK_FALSE(doc.root().get("more")->as_bool());
  CHECK_FALSE(doc.root().get("next"));
  auto items = doc.root().get("statuses");
  REQUIRE(items);
  REQUIRE(items->size() == 2);
  const auto newest = items->value_at(0);
  CHECK(newest.get("id")->as_string() == second);
  CHECK(newest.get("api_root")->as_string() == "r");
  CHECK(newest.get("status")->as_string() == "complete");
  CHECK(newest.get("total_count")->as_int() == 2);
  CHECK(newest.get("success_count")->as_int() == 1);
  CHECK(newest.get("failure_count")->as_int() == 1);
  CHECK(newest.get("pending_count")->as_int() == 0);
  const auto oldest = items->value_at(1);
  CHECK(oldest.get("id")->as_string() == first);
  CHECK(oldest.get("total_count")->as_int() == 2);
  CHECK(oldest.get("success_count")->as_int() == 2);
  CHECK(oldest.get("failure_count")->as_int() == 0);
  // RFC 3339 UTC, newest first.
  const auto t_new = cairn::formats::parse_rfc3339(newest.get("request_timestamp")->as_string());
  const auto t_old = cairn::formats::parse_rfc3339(oldest.get("request_timestamp")->as_string());
  REQUIRE(t_new);
  REQUIRE(t_old);
  CHECK(*t_new > *t_old);
  CHECK(newest.get("request_timestamp")->as_string().ends_with("Z"));

  // The counts are those of the TAXII status resource.
  auto taxii = f.get(k_pub, "/r/status/" + second + "/");
  REQUIRE(taxii.result_int() == 200);
  auto status = parsed(taxii.body());
  CHECK(status.root().get("total_count")->as_int() == 2);
  CHECK(status.root().get("failure_count")->as_int() == 1);

  CHECK(list(f, k_writer, "/cairn/v1/statuses/").ids == std::vector<std::string>{others});
  // An account that never published has none (and sees no one else's).
  CHECK(list(f, k_partner, "/cairn/v1/statuses/").ids.empty());
  // Anonymous callers are refused like everywhere else.
  CHECK(f.get("", "/cairn/v1/statuses").result_int() == 401);
}

TEST_CASE("statuses: pages without skips or repeats, by a token bound to the account") {
  statuses f;
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) expected.insert(expected.begin(), f.publish(k_pub, {indicator(i)}));

  CHECK(list(f, k_pub, "/cairn/v1/statuses?limit=100").ids == expected);
  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  std::string target = "/cairn/v1/statuses?limit=2";
  std::string first_next;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = list(f, k_pub, target);
    sizes.push_back(page.ids.size());
    seen.insert(seen.end(), page.ids.begin(), page.ids.end());
    if (!page.more) break;
    if (first_next.empty()) first_next = page.next;
    target = "/cairn/v1/statuses?limit=2&next=" + page.next;
  }
  CHECK(seen == expected);
  CHECK(sizes == std::vector<std::size_t>{2, 2, 1});

  // A publish after the first page shifts nothing on the next.
  f.publish(k_pub, {indicator(50)});
  CHECK(list(f, k_pub, "/cairn/v1/statuses?next=" + first_next + "&limit=2").ids ==
        std::vector<std::string>(expected.begin() + 2, expected.begin() + 4));

  // Another account cannot use the token.
  check_error(f.get(k_writer, "/cairn/v1/statuses?next=" + first_next), 400, "next");
  // Nor an altered one.
  std::string altered = first_next;
  altered[3] = altered[3] == 'A' ? 'B' : 'A';
  check_error(f.get(k_pub, "/cairn/v1/statuses?next=" + altered), 400, "next");
}

TEST_CASE("statuses: bad parameters and methods are refused with a TAXII error") {
  statuses f;
  f.publish(k_pub, {indicator(1)});
  for (const char* bad : {"limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=2x",
                          "limit=99999999999999999999999"}) {
    INFO(bad);
    check_error(f.get(k_pub, std::string("/cairn/v1/statuses?") + bad), 400,
                "limit must be an integer from 1 to 100");
  }
  check_error(f.get(k_pub, "/cairn/v1/statuses?owner=writer"), 400, "unknown parameter 'owner'");
  check_error(f.get(k_pub, "/cairn/v1/statuses?limit=1&limit=2"), 400, "limit");
  check_error(f.get(k_pub, "/cairn/v1/statuses?next="), 400, "next");
  check_error(f.get(k_pub, "/cairn/v1/statuses?next=abc"), 400, "next");
  check_error(f.get(k_pub, "/cairn/v1/statuses?next=abc.ZGVm"), 400, "next");
  check_error(f.get(k_pub, "/cairn/v1/statuses?next=" + std::string(5000, 'A')), 400, "next");
  check_error(f.get(k_pub, "/cairn/v1/statuses?next=%zz"), 400, "");
  CHECK(list(f, k_pub, "/cairn/v1/statuses?limit=1").ids.size() == 1);
  CHECK(list(f, k_pub, "/cairn/v1/statuses?limit=100").ids.size() == 1);

  auto res = f.call({http::verb::post, "/cairn/v1/statuses", k_pub, "{}"});
  CHECK(res.result_int() == 405);
  CHECK(res[http::field::allow] == "GET");
}

TEST_CASE("statuses: a token reads back only for its account and as written") {
  page_token_codec codec(std::string(32, 'k'));
  const cairn::storage::status_cursor at{1'764'237'600'000'000, "b7d5e3a2-0000-4000-8000-1"};
  const std::string token = statuses_token(codec, "pub", at);
  CHECK(token.find('.') != std::string::npos);
  CHECK(token.find(at.id) == std::string::npos);  // not in clear text
  CHECK(read_statuses_token(codec, "pub", token) == at);
  CHECK_FALSE(read_statuses_token(codec, "writer", token));
  CHECK_FALSE(read_statuses_token(page_token_codec(std::string(32, 'x')), "pub", token));
  // Another status id with the same MAC does not read.
  const std::string other = statuses_token(codec, "pub", {at.request_timestamp, "other-id"});
  const std::string spliced = token.substr(0, token.find('.')) + other.substr(other.find('.'));
  CHECK_FALSE(read_statuses_token(codec, "pub", spliced));
  CHECK_FALSE(read_statuses_token(codec, "pub", ""));
  CHECK_FALSE(read_statuses_token(codec, "pub", "."));
  CHECK_FALSE(read_statuses_token(codec, "pub", token + "A"));
}

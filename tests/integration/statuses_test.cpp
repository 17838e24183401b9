// GET /cairn/v1/statuses against the real cairnd over TLS: a publisher's own
// statuses, newest first, with the counts of the TAXII status resource; none
// of them for another account; paging by `next`; 400 for bad parameters.
// Runs on LMDB, and again on PostgreSQL (tests/integration/CMakeLists.txt).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "formats/json.hpp"
#include "formats/time.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

formats::json_document parsed(const std::string& text) {
  auto doc = formats::parse_json(text);
  REQUIRE(doc);
  return std::move(*doc);
}

struct listing {
  std::vector<std::string> ids;
  bool more = false;
  std::string next;
};

listing list(clients::taxii_client& c, const std::string& target) {
  auto r = c.get_ok(target);
  REQUIRE(r);
  CHECK(r->header("Content-Type").value_or("") == "application/json");
  auto doc = parsed(r->body);
  listing out;
  auto items = doc.root().get("statuses");
  REQUIRE(items);
  for (std::size_t k = 0; k < items->size(); ++k) {
    out.ids.emplace_back(items->value_at(k).get("id")->as_string());
  }
  out.more = doc.root().get("more")->as_bool();
  if (auto next = doc.root().get("next")) out.next = next->as_string();
  CHECK(out.more == !out.next.empty());
  return out;
}

void check_bad_request(clients::taxii_client& c, const std::string& target,
                       std::string_view needle) {
  auto r = c.request("GET", target);
  REQUIRE(r);
  INFO(target << ": " << r->body);
  CHECK(r->status == 400);
  CHECK(r->header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto doc = parsed(r->body);
  auto d = doc.root().get("description");
  REQUIRE(d);
  CHECK(d->as_string().find(needle) != std::string_view::npos);
}

}  // namespace

TEST_CASE("statuses over TLS: a publisher's own, newest first, paged", "[integration][statuses]") {
  test_server srv;
  auto writer = srv.client("writer");
  auto root = writer.resolve_api_root();
  REQUIRE(root);
  const std::string good = make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z");
  const std::string other = make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z");
  // No pattern: it does not validate, and fails alone.
  const std::string invalid = R"({"type":"indicator","spec_version":"2.1","id":")" +
                              random_stix_id("indicator") +
                              R"(","created":"2026-01-01T00:00:00.000Z",)"
                              R"("modified":"2026-01-01T00:00:00.000Z"})";

  auto first = writer.add_objects(*root, "intel", envelope({good}));
  REQUIRE(first);
  REQUIRE(writer.wait_for_status(*root, *first, std::chrono::seconds(30)));
  auto second = writer.add_objects(*root, "intel", envelope({other, invalid}));
  REQUIRE(second);
  auto second_done = writer.wait_for_status(*root, *second, std::chrono::seconds(30));
  REQUIRE(second_done);
  REQUIRE(second_done->failure_count == 1);

  auto r = writer.get_ok("/cairn/v1/statuses");
  REQUIRE(r);
  auto doc = parsed(r->body);
  CHECK_FALSE(doc.root().get("more")->as_bool());
  CHECK_FALSE(doc.root().get("next"));
  auto items = doc.root().get("statuses");
  REQUIRE(items);
  REQUIRE(items->size() == 2);
  const auto newest = items->value_at(0);
  const auto oldest = items->value_at(1);
  CHECK(newest.get("id")->as_string() == second->id);
  CHECK(oldest.get("id")->as_string() == first->id);
  CHECK(newest.get("api_root")->as_string() == "api1");
  CHECK(newest.get("status")->as_string() == "complete");
  CHECK(newest.get("total_count")->as_int() == 2);
  CHECK(newest.get("success_count")->as_int() == 1);
  CHECK(newest.get("failure_count")->as_int() == 1);
  CHECK(newest.get("pending_count")->as_int() == 0);
  CHECK(oldest.get("total_count")->as_int() == 1);
  CHECK(oldest.get("success_count")->as_int() == 1);
  CHECK(oldest.get("failure_count")->as_int() == 0);
  // The same request_timestamp as the TAXII status resource.
  CHECK(formats::parse_rfc3339(newest.get("request_timestamp")->as_string()).value() ==
        formats::parse_rfc3339(second_done->request_timestamp).value());

  // Another account sees none of them, an auditor included.
  auto admin = srv.client("admin");
  CHECK(list(admin, "/cairn/v1/statuses").ids.empty());
  auto auditor = srv.client("auditor");
  CHECK(list(auditor, "/cairn/v1/statuses").ids.empty());

  // Paging: one at a time, newest first, then the end.
  auto page = list(writer, "/cairn/v1/statuses?limit=1");
  CHECK(page.ids == std::vector<std::string>{second->id});
  REQUIRE(page.more);
  const std::string token = page.next;
  page = list(writer, "/cairn/v1/statuses?limit=1&next=" + token);
  CHECK(page.ids == std::vector<std::string>{first->id});
  CHECK_FALSE(page.more);
  // The token is the writer's alone.
  check_bad_request(admin, "/cairn/v1/statuses?next=" + token, "next");

  check_bad_request(writer, "/cairn/v1/statuses?limit=0", "limit");
  check_bad_request(writer, "/cairn/v1/statuses?limit=101", "limit");
  check_bad_request(writer, "/cairn/v1/statuses?limit=ten", "limit");
  check_bad_request(writer, "/cairn/v1/statuses?next=not-a-token", "next");
  check_bad_request(writer, "/cairn/v1/statuses?since=2026-01-01", "unknown parameter 'since'");

  // No credentials: 401, as every authenticated endpoint.
  auto anonymous_options = srv.options("writer");
  anonymous_options.token.clear();
  anonymous_options.user.clear();
  anonymous_options.password.clear();
  auto anonymous = clients::taxii_client::make(anonymous_options);
  REQUIRE(anonymous);
  auto refused = anonymous->request("GET", "/cairn/v1/statuses");
  REQUIRE(refused);
  CHECK(refused->status == 401);
}

// The one publish path of server/ (POST .../objects/ and the demo): the
// request it builds from parsed objects under the sharing policy.

#include "server/api/publishing.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace cairn;
using namespace cairn::server;

namespace {

formats::parsed_object valid(std::string id, std::optional<formats::tlp_level> tlp) {
  formats::parsed_object p;
  formats::stix_object_info info;
  info.id = std::move(id);
  info.type = "indicator";
  info.version = "2026-01-01T00:00:00.000Z";
  info.spec_version = "2.1";
  info.tlp = tlp;
  info.json = R"({"type":"indicator","id":")" + info.id + R"("})";
  p.id = info.id;
  p.version = info.version;
  p.info = std::move(info);
  return p;
}

formats::parsed_object invalid(std::string id) {
  formats::parsed_object p;
  p.id = std::move(id);
  p.version = "2026-01-02T00:00:00.000Z";
  p.problem = error{"pattern: unbalanced brackets", {}};
  return p;
}

storage::object_record stored(formats::tlp_level tlp, std::string_view publisher) {
  storage::object_record r;
  r.tlp = tlp;
  r.publisher = publisher;
  return r;
}

}  // namespace

TEST_CASE("publishing: the request carries the objects, the failures and a new status") {
  const account alice{"alice", formats::tlp_level::amber};
  const publication where{&alice, 7, "api1", formats::tlp_level::green};
  std::vector<formats::parsed_object> parsed;
  parsed.push_back(valid("indicator--1", formats::tlp_level::clear));
  parsed.push_back(invalid("indicator--2"));
  parsed.push_back(valid("indicator--3", std::nullopt));
  auto r = publish_request_for(where, std::move(parsed));
  CHECK(r.collection == 7);
  CHECK(r.publisher == "alice");
  REQUIRE(r.objects.size() == 2);
  CHECK(r.objects[0].id == "indicator--1");
  CHECK(r.objects[0].tlp == formats::tlp_level::clear);
  CHECK(r.objects[1].tlp == formats::tlp_level::green);  // unmarked: the collection's default
  REQUIRE(r.status.failures.size() == 1);
  CHECK(r.status.failures[0].id == "indicator--2");
  CHECK(r.status.failures[0].message.find("unbalanced") != std::string::npos);
  CHECK(r.status.owner == "alice");
  CHECK(r.status.api_root == "api1");
  CHECK(r.status.id.size() == 36);
  CHECK(r.status.request_timestamp > 0);
  CHECK_FALSE(r.own_commit);  // nothing above amber
}

// Before, the demo's publish had no duplicate_if and no own_commit.
TEST_CASE("publishing: only versions the publisher may receive are duplicates") {
  const account alice{"alice", formats::tlp_level::green};
  const publication where{&alice, 1, "api1", formats::tlp_level::green};
  std::vector<formats::parsed_object> parsed;
  parsed.push_back(valid("indicator--1", std::nullopt));
  auto r = publish_request_for(where, std::move(parsed));
  REQUIRE(r.duplicate_if);
  CHECK(r.duplicate_if(stored(formats::tlp_level::green, "bob")));
  CHECK_FALSE(r.duplicate_if(stored(formats::tlp_level::red, "bob")));
  CHECK(r.duplicate_if(stored(formats::tlp_level::red, "alice")));  // its own
}

TEST_CASE("publishing: versions above the publisher's clearance get a commit of their own") {
  const account alice{"alice", formats::tlp_level::green};
  const publication where{&alice, 1, "api1", formats::tlp_level::green};
  std::vector<formats::parsed_object> parsed;
  parsed.push_back(valid("indicator--1", std::nullopt));
  parsed.push_back(valid("indicator--2", formats::tlp_level::red));
  CHECK(publish_request_for(where, std::move(parsed)).own_commit);
}

TEST_CASE("publishing: valid indicators and SCOs carry their observables to the store") {
  const account alice{"alice", formats::tlp_level::amber};
  const publication where{&alice, 1, "api1", formats::tlp_level::green};
  // The observables come from validation, which reads them from the trees it
  // parsed: the objects go through it as a POST's do.
  auto parsed = formats::parse_envelope(
      R"({"objects":[)"
      R"({"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",)"
      R"("created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",)"
      R"("valid_from":"2024-01-01T00:00:00Z","pattern_type":"stix",)"
      R"("pattern":"[domain-name:value = 'Evil.Example.'] OR [ipv4-addr:value = '10.0.0.1']"},)"
      R"({"type":"ipv6-addr","spec_version":"2.1","id":"ipv6-addr--1e61d36c-a16c-53b7-a80f-2a00161c96b1",)"
      R"("value":"2001:DB8::1"},)"
      R"({"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",)"
      R"("created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",)"
      R"("name":"10.0.0.1","is_family":false},)"
      R"({"type":"indicator","spec_version":"2.1","id":"indicator--0ac1a4b3-3a3c-4a5e-9b8f-2b0a4a1e4c11",)"
      R"("created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",)"
      R"("valid_from":"2024-01-01T00:00:00Z","pattern_type":"stix",)"
      R"("pattern":"[ipv4-addr:value = "}]})",
      {}, 10);
  REQUIRE(parsed);
  auto r = publish_request_for(where, std::move(*parsed));
  REQUIRE(r.objects.size() == 3);
  auto indicator = r.objects[0].observables;
  std::sort(indicator.begin(), indicator.end(),
            [](const auto& a, const auto& b) { return a.kind < b.kind; });
  using k = formats::observable_kind;
  CHECK(indicator == std::vector<formats::observable>{{k::ipv4, "10.0.0.1", false, true},
                                                      {k::domain, "evil.example", false, true}});
  CHECK(r.objects[1].observables ==
        std::vector<formats::observable>{{k::ipv6, "2001:db8::1", false, false}});
  CHECK(r.objects[2].observables.empty());
}

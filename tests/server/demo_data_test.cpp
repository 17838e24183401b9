// The data built into `cairnd demo`: every object passes Cairn's own STIX 2.1
// validation (a refused object would silently shrink the demo's collections),
// and the reference examples show the common object types.

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "formats/stix.hpp"
#include "server/app/demo.hpp"

using namespace cairn;

namespace {

// The ids of the objects of text; fails the test on the first invalid one.
std::set<std::string> valid_objects(std::string_view text, std::set<std::string>& types) {
  auto parsed = formats::parse_stix_content(text, {}, 100000);
  INFO((parsed ? std::string() : parsed.error().to_string()));
  REQUIRE(parsed);
  std::set<std::string> ids;
  for (const auto& p : *parsed) {
    INFO(p.id << ": " << p.problem.to_string());
    REQUIRE(p.info);
    types.insert(p.info->type);
    CHECK(ids.insert(p.info->id + " " + p.info->version).second);
  }
  return ids;
}

}  // namespace

TEST_CASE("the demo's built-in reference examples are valid STIX 2.1 of the common types") {
  std::set<std::string> types;
  const auto ids = valid_objects(server::demo_reference_json(), types);
  CHECK(ids.size() >= 30);
  CHECK(ids.size() <= 100);
  for (const char* t :
       {"threat-actor", "intrusion-set", "campaign", "malware", "indicator", "attack-pattern",
        "relationship", "identity", "marking-definition", "sighting"}) {
    INFO(t);
    CHECK(types.contains(t));
  }
}

TEST_CASE("the demo's built-in scenario is valid STIX 2.1") {
  std::set<std::string> types;
  CHECK(valid_objects(server::demo_scenario_json(), types).size() == 60);
}

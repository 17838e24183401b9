// The sharing policy's two halves against a table written here, not taken
// from the code under test: the TLP level of an object (formats/tlp.hpp, at
// ingest) and may_receive (server/auth/policy.hpp, at delivery).
#include "server/auth/policy.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "formats/json.hpp"
#include "formats/tlp.hpp"

using namespace cairn;
using formats::tlp_level;

namespace {

// STIX 2.1 section 7.2.1.4 (TLP 1.0) and the TLP 2.0 extension's fixed ids.
const std::map<std::string, int> k_tlp_ids = {
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", 0},  // TLP:WHITE
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", 1},  // TLP:GREEN
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", 2},  // TLP:AMBER
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", 4},  // TLP:RED
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", 0},  // TLP:CLEAR
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", 1},  // TLP:GREEN
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", 2},  // TLP:AMBER
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", 3},  // TLP:AMBER+STRICT
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", 4},  // TLP:RED
};

std::optional<int> level_of(const std::string& object_json) {
  auto doc = formats::parse_json(object_json);
  REQUIRE(doc);
  auto level = formats::tlp_of_object(doc->root());
  if (!level) return std::nullopt;
  return static_cast<int>(*level);
}

std::string with_refs(const std::vector<std::string>& refs, const std::string& granular = {}) {
  std::string out = R"({"type":"indicator","id":"indicator--1")";
  if (!refs.empty()) {
    out += R"(,"object_marking_refs":[)";
    for (std::size_t i = 0; i < refs.size(); ++i) out += (i ? ",\"" : "\"") + refs[i] + "\"";
    out += "]";
  }
  if (!granular.empty()) {
    out +=
        R"(,"granular_markings":[{"selectors":["description"],"marking_ref":")" + granular + "\"}]";
  }
  return out + "}";
}

}  // namespace

TEST_CASE("every TLP 1.0 and 2.0 id has its level, unknown ids none") {
  for (const auto& [id, level] : k_tlp_ids) {
    INFO(id);
    CHECK(level_of(with_refs({id})) == level);
    // Hex digits in upper case name the same marking.
    std::string upper = id;
    for (std::size_t i = std::string("marking-definition--").size(); i < upper.size(); ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    }
    CHECK(level_of(with_refs({upper})) == level);
  }
  CHECK_FALSE(level_of(with_refs({})));
  CHECK_FALSE(level_of(with_refs({"marking-definition--00000000-0000-4000-8000-000000000000"})));
  CHECK_FALSE(level_of(R"({"type":"indicator","object_marking_refs":"not a list"})"));
  CHECK_FALSE(level_of(R"({"type":"indicator","object_marking_refs":[1,null,{}]})"));
}

TEST_CASE("several markings: the most restrictive TLP wins, others are ignored") {
  std::mt19937 rng(7);
  std::vector<std::string> ids;
  for (const auto& [id, level] : k_tlp_ids) ids.push_back(id);
  const std::string unknown = "marking-definition--11111111-2222-4333-8444-555555555555";
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> refs;
    int expected = -1;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      if (rng() % 4 == 0) {
        refs.push_back(unknown);
        continue;
      }
      const auto& id = ids[rng() % ids.size()];
      refs.push_back(id);
      expected = std::max(expected, k_tlp_ids.at(id));
    }
    INFO(with_refs(refs));
    if (expected < 0) {
      CHECK_FALSE(level_of(with_refs(refs)));
    } else {
      CHECK(level_of(with_refs(refs)) == expected);
    }
  }
}

TEST_CASE("a TLP granular marking restricts the whole object") {
  const std::string green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
  const std::string red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
  CHECK(level_of(with_refs({green}, red)) == 4);
  CHECK(level_of(with_refs({red}, green)) == 4);
  CHECK(level_of(with_refs({}, green)) == 1);
  CHECK_FALSE(
      level_of(R"({"type":"indicator","granular_markings":[{"selectors":["x"],"lang":"de"}]})"));
}

TEST_CASE("may_receive: clearance at least the level, or the publisher itself") {
  const tlp_level all[] = {tlp_level::clear, tlp_level::green, tlp_level::amber,
                           tlp_level::amber_strict, tlp_level::red};
  for (auto clearance : all) {
    for (auto level : all) {
      server::account who;
      who.name = "acme";
      who.clearance = clearance;
      storage::object_record r;
      r.tlp = level;
      r.publisher = "someone-else";
      INFO(static_cast<int>(clearance) << " vs " << static_cast<int>(level));
      CHECK(server::may_receive(who, r) ==
            (static_cast<int>(clearance) >= static_cast<int>(level)));
      r.publisher = "acme";
      CHECK(server::may_receive(who, r));
      r.publisher = "acme2";  // a name that merely starts the same is someone else
      CHECK(server::may_receive(who, r) ==
            (static_cast<int>(clearance) >= static_cast<int>(level)));
    }
  }
}

TEST_CASE("a certificate fingerprint names at most one account") {
  const std::string fp(64, 'a');
  auto text = [&](const std::string& second_fp) {
    return R"({"listen": "127.0.0.1:0", "data_dir": "d",
      "tls": {"cert": "c", "key": "k", "client_ca": "ca"},
      "discovery": {"title": "t"}, "api_roots": {},
      "accounts": [
        {"name": "one", "client_cert_sha256": ")" +
           fp + R"("},
        {"name": "two", "client_cert_sha256": ")" +
           second_fp + R"("}]})";
  };
  REQUIRE(server::parse_config(text(std::string(64, 'b')), "/"));
  auto dup = server::parse_config(text(fp), "/");
  REQUIRE_FALSE(dup);
  // The same fingerprint written another way is the same certificate.
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AA";
  REQUIRE_FALSE(server::parse_config(text(colons), "/"));
}

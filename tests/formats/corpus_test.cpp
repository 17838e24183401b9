// The shared STIX corpus (CAIRN_CORPUS_DIR, see its SOURCES.md): every valid/
// file must parse and validate completely; every invalid/ file that
// SOURCES.md labels DELIBERATE, ACCIDENTAL or SEMANTIC must be refused, for
// the reason SOURCES.md gives.

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "formats/stix.hpp"

namespace fs = std::filesystem;
using namespace cairn::formats;

namespace {

const fs::path k_corpus = CAIRN_CORPUS_DIR;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

json_limits file_limits() {
  json_limits l;
  l.max_bytes = 16u << 20;
  return l;
}

constexpr std::size_t k_max_objects = 100000;

// invalid/ labels from SOURCES.md: "| `name` | ... | DELIBERATE (...) ... |".
std::map<std::string, std::string> invalid_labels() {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file(k_corpus / "SOURCES.md"));
  std::string line;
  bool in_invalid = false;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_invalid = line.starts_with("## invalid/");
    if (!in_invalid || !line.starts_with("| `")) continue;
    const auto end = line.find('`', 3);
    const std::string name = line.substr(3, end - 3);
    for (const char* label : {"DELIBERATE", "ACCIDENTAL", "SEMANTIC"}) {
      if (line.find(std::string("| ") + label) != std::string::npos) out[name] = label;
    }
  }
  return out;
}

// What the refusal of each invalid/ file must talk about (SOURCES.md's
// reason, in the words our messages use).
const std::map<std::string, std::string>& expected_reasons() {
  static const std::map<std::string, std::string> m{
      {"cti-python-stix2__sco-examples-bundle.json", "payload_bin"},
      {"cti-python-stix2__stix2__test__v21__stix2_data__malware__malware--b42378e0-f147-496f-992a-"
       "26a49705395b__20170531213215263882.json",
       "spec_version"},
      {"cti-stix-common-objects__extension-definition-specifications__tlp-2.0__examples__using-"
       "tlp2.0-green.json",
       "\"type\": \"bundle\""},
      {"cti-stix-common-objects__objects__extension-definition__extension-definition--60a3c5c5-"
       "0d10-413e-aab3-9e08dde9e88d.json",
       "\"type\": \"bundle\""},
      {"cti-stix-elevator__idioms-json-2.1-valid__Appendix_G_IOCs_Full.json", "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__Mandiant_APT1_Report.json", "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__account_indicator.json", "name: missing"},
      {"cti-stix-elevator__idioms-json-2.1-valid__command-and-control-ip-list.json",
       "id: 'observed-data--c8c32b6e-2ea8-51c4-6446-7f5218072f27'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__file-and-directory-pattern.json", "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__file-and-directory.json",
       "id: 'observed-data--c8c32b6e-2ea8-51c4-6446-7f5218072f27'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__fireeye-pivy-report-with-indicators.json",
       "pattern"},
      {"cti-stix-elevator__idioms-json-2.1-valid__incident-malware.json",
       "spec_version: missing; without it this is a stix 2.0 object"},
      {"cti-stix-elevator__idioms-json-2.1-valid__indicator-for-c2-ip-address.json", "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__indicator-for-malicious-url.json",
       "id: 'indicator--d81f86b9-975b-bc0b-775e-810c5ad45a4f'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__issue-162.json", "name: missing"},
      {"cti-stix-elevator__idioms-json-2.1-valid__issue62.json", "protocols"},
      {"cti-stix-elevator__idioms-json-2.1-valid__malicious-email-indicator-with-addresses.json",
       "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__malicious-email-indicator-with-attachment.json",
       "target_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__malware-characterization-using-maec.json",
       "id: 'malware--7d9fe1f7-429d-077e-db51-92c70b8da45a'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__malware-indicator-for-file-hash.json",
       "id: 'indicator--a932fcc6-e032-176c-126f-cb970a5a1ade'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__multiple-reports-in-package.json",
       "object_refs[0]: 'example:ttp-66647c79-5766-4ca7-ab8a-a579056e3c83'"},
      {"cti-stix-elevator__idioms-json-2.1-valid__network-socket-observable.json", "src_ref"},
      {"cti-stix-elevator__idioms-json-2.1-valid__observable-with-networkconnection-instance.json",
       "request_header.accept"},
      {"cti-stix-elevator__idioms-json-2.1-valid__victim-targeting.json",
       "id: 'campaign--c831ab93-ff84-9cda-2bd8-b094004da969'"},
      {"cti-stix-validator__stix2validator__test__v21__test_examples__invalid_braces.json",
       "not valid json"},
      {"cti-stix-validator__stix2validator__test__v21__test_examples__invalid_comma.json",
       "not valid json"},
      {"cti-stix-validator__stix2validator__test__v21__test_examples__invalid_identity.json",
       "modified: missing"},
      {"cti-stix-validator__stix2validator__test__v21__test_examples__invalid_timestamp.json",
       "later than created"},
      {"cti-stix2__spec__stix-v2.1.md__sec3.9.1__L1856__0__file.json", "needs '--'"},
      {"cti-stix2__spec__stix-v2.1.md__sec4.16.2__L5003__0__bundle.json", "pattern_type: missing"},
      {"cti-stix2__spec__stix-v2.1.md__sec6.1.1__L6065__0__artifact.json", "payload_bin"},
      {"cti-stix2__spec__stix-v2.1.md__sec8.2__L10686__0__bundle.json", "pattern_type: missing"},
      {"cti-stix2__spec__stix-v2.1.md__secC.2.1__L14712__0__marking-definition.json",
       "fixed tlp 1.0 marking tlp:green"},
      {"cti-stix2__spec__stix-v2.1.md__secC.2.4__L14862__1__marking-definition.json",
       "extension_type: 'property_extension' is not one of"},
  };
  return m;
}

// All the problems found in a file: the whole-parse error, or each failed
// object's message (lower case, one a line).
std::string problems_of(const std::string& text, std::size_t& failed_objects) {
  failed_objects = 0;
  auto r = parse_stix_content(text, file_limits(), k_max_objects);
  if (!r) return lower(r.error().to_string()) + "\n";
  std::string out;
  for (const auto& p : *r) {
    if (!p.info) {
      ++failed_objects;
      out += lower(p.id + " " + p.problem.message) + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every valid/ corpus file parses and every object validates", "[corpus]") {
  std::size_t files = 0, objects = 0;
  for (const auto& e : fs::directory_iterator(k_corpus / "valid")) {
    if (e.path().extension() != ".json") continue;
    ++files;
    const auto text = read_file(e.path());
    INFO(e.path().filename().string());
    auto r = parse_stix_content(text, file_limits(), k_max_objects);
    REQUIRE(r);
    CHECK(!r->empty());
    for (const auto& p : *r) {
      INFO(p.id);
      INFO(p.problem.to_string());
      CHECK(p.info.has_value());
      if (p.info) {
        ++objects;
        CHECK(p.info->id == p.id);
        CHECK(p.info->spec_version == "2.1");
        // The stored form is minified JSON that reads back as the same object.
        auto again = parse_json(p.info->json);
        REQUIRE(again);
        CHECK(validate_stix_object(again->root()));
      }
    }
  }
  CHECK(files == 150);
  CHECK(objects == 498);
}

TEST_CASE("the lang-only granular marking of spec 7.2.3 is accepted", "[corpus]") {
  const auto text = read_file(k_corpus / "valid" /
                              "cti-stix2__spec__stix-v2.1.md__sec7.2.3__L10275__0__campaign.json");
  auto doc = parse_json(text);
  REQUIRE(doc);
  auto info = validate_stix_object(doc->root());
  INFO((info ? std::string() : info.error().to_string()));
  REQUIRE(info);
  CHECK(info->version == "2017-02-08T21:31:22.007Z");
}

TEST_CASE("every labelled invalid/ corpus file is refused for its documented reason", "[corpus]") {
  const auto labels = invalid_labels();
  REQUIRE(labels.size() == 34);
  const auto& reasons = expected_reasons();
  std::size_t seen = 0;
  for (const auto& e : fs::directory_iterator(k_corpus / "invalid")) {
    const auto name = e.path().filename().string();
    INFO(name);
    auto label = labels.find(name);
    REQUIRE(label != labels.end());
    auto reason = reasons.find(name);
    REQUIRE(reason != reasons.end());
    ++seen;
    std::size_t failed = 0;
    const auto problems = problems_of(read_file(e.path()), failed);
    INFO(problems);
    CHECK(!problems.empty());
    CHECK(problems.find(lower(reason->second)) != std::string::npos);
  }
  CHECK(seen == labels.size());
}

TEST_CASE("the objects inside the typeless TLP 2.0 example bundle fail on their own defects",
          "[corpus]") {
  // The file as a whole is refused (no "type": "bundle"); its relationship
  // also has the month "101".
  auto doc = parse_json(read_file(k_corpus / "invalid" /
                                  "cti-stix-common-objects__extension-definition-specifications__"
                                  "tlp-2.0__examples__using-tlp2.0-green.json"));
  REQUIRE(doc);
  auto objects = doc->root().get("objects");
  REQUIRE(objects);
  REQUIRE(objects->size() == 3);
  CHECK(validate_stix_object(objects->value_at(0)));
  CHECK(validate_stix_object(objects->value_at(1)));
  auto rel = validate_stix_object(objects->value_at(2));
  REQUIRE(!rel);
  CHECK(rel.error().where == "/created");
  CHECK_THAT(rel.error().message, Catch::Contains("month '101'"));
}

TEST_CASE("the elevator's issue-162 file also has a CAPEC reference with an ATT&CK id",
          "[corpus]") {
  // Besides its documented defect (a vulnerability without a name), one
  // attack-pattern cites source "capec" with the id "T1068". Before the
  // external-reference id forms were checked, that object was accepted.
  auto doc = parse_json(
      read_file(k_corpus / "invalid" / "cti-stix-elevator__idioms-json-2.1-valid__issue-162.json"));
  REQUIRE(doc);
  auto objects = doc->root().get("objects");
  REQUIRE(objects);
  bool seen = false;
  for (std::size_t i = 0; i < objects->size(); ++i) {
    const auto o = objects->value_at(i);
    if (o.get("id")->as_string() != "attack-pattern--1a9c3244-cc05-4d6c-8355-5fd9c681ffa9") {
      continue;
    }
    seen = true;
    auto r = validate_stix_object(o);
    REQUIRE(!r);
    CHECK(r.error().where == "/external_references/0/external_id");
    CHECK_THAT(r.error().message, Catch::Contains("'T1068' is not a CAPEC id"));
  }
  CHECK(seen);
}

#include "formats/stix.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace cairn::formats;
using cairn::result;

namespace {

constexpr const char* k_uuid = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
constexpr const char* k_identity = "\"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5\"";
constexpr const char* k_indicator = "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"";
constexpr const char* k_malware = "\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\"";
constexpr const char* k_file = "\"file--5a27d487-c542-5f97-a131-a8866b477b46\"";
constexpr const char* k_ipv4 = "\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\"";
constexpr const char* k_relationship = "\"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad\"";
constexpr const char* k_tlp_green = "\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\"";
constexpr const char* k_tlp_amber = "\"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82\"";
constexpr const char* k_tlp2_green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
constexpr const char* k_tlp2_ext = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
constexpr const char* k_created = "\"2016-04-06T20:03:48.000Z\"";

// A JSON object built member by member (values are raw JSON), so that each
// test states only what differs from a valid object.
class object {
 public:
  object& set(const std::string& key, const std::string& raw) {
    for (auto& m : members_) {
      if (m.first == key) {
        m.second = raw;
        return *this;
      }
    }
    members_.emplace_back(key, raw);
    return *this;
  }
  object& str(const std::string& key, const std::string& value) {
    return set(key, "\"" + value + "\"");
  }
  object& drop(const std::string& key) {
    std::erase_if(members_, [&](const auto& m) { return m.first == key; });
    return *this;
  }
  std::string json() const {
    std::string out = "{";
    for (const auto& [k, v] : members_) {
      if (out.size() > 1) out += ',';
      out += "\"" + k + "\":" + v;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

object sdo(const std::string& type) {
  object o;
  o.str("type", type)
      .str("spec_version", "2.1")
      .str("id", type + "--" + k_uuid)
      .set("created", k_created)
      .set("modified", k_created);
  return o;
}

object sco(const std::string& type) {
  object o;
  o.str("type", type).str("spec_version", "2.1").str("id", type + "--" + k_uuid);
  return o;
}

object indicator() {
  return sdo("indicator")
      .str("pattern", "[ipv4-addr:value = '198.51.100.1']")
      .str("pattern_type", "stix")
      .set("valid_from", k_created);
}

result<stix_object_info> validate(const object& o) {
  auto doc = parse_json(o.json());
  INFO(o.json());
  REQUIRE(doc);
  return validate_stix_object(doc->root());
}

void accepted(const object& o) {
  auto r = validate(o);
  INFO(o.json());
  INFO((r ? std::string() : r.error().to_string()));
  CHECK(r);
}

// The object is refused at `where`, with a message containing `says`.
void refused(const object& o, const std::string& where, const std::string& says) {
  auto r = validate(o);
  INFO(o.json());
  REQUIRE(!r);
  INFO(r.error().to_string());
  CHECK(r.error().where == where);
  CHECK_THAT(r.error().message, Catch::Contains(says));
}

}  // namespace

// ---------------------------------------------------------------------------
// Identifiers

TEST_CASE("UUID and STIX id syntax", "[stix][ids]") {
  CHECK(is_uuid("8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(is_uuid("8C6AF861-7B20-01EF-1B59-6344FD872A8F"));
  CHECK(!is_uuid("8c6af861-7b20-41ef-9b59-6344fd872a8"));
  CHECK(!is_uuid("8c6af8617b2041ef9b596344fd872a8f"));
  CHECK(!is_uuid("8c6af861-7b20-41ef-9b59-6344fd872a8g"));
  CHECK(is_uuid_v4("8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(!is_uuid_v4("8c6af861-7b20-51ef-9b59-6344fd872a8f"));
  CHECK(!is_uuid_v4("8c6af861-7b20-41ef-cb59-6344fd872a8f"));

  CHECK(is_stix_id("indicator--8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(is_stix_id("file--5a27d487-c542-5f97-a131-a8866b477b46"));
  CHECK(is_stix_id("x-acme-thing--8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(is_stix_id("identity--8C6AF861-7B20-11EF-AB59-6344FD872A8F"));
  CHECK(!is_stix_id("indicator-8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(!is_stix_id("indicator--8c6af861-7b20-01ef-9b59-6344fd872a8f"));
  CHECK(!is_stix_id("indicator--8c6af861-7b20-61ef-9b59-6344fd872a8f"));
  CHECK(!is_stix_id("indicator--8c6af861-7b20-41ef-7b59-6344fd872a8f"));
  CHECK(!is_stix_id("indicator--8c6af861-7b20-41ef-cb59-6344fd872a8f"));
  CHECK(!is_stix_id("Indicator--8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(!is_stix_id("ab--8c6af861-7b20-41ef-9b59-6344fd872a8f"));
  CHECK(!is_stix_id("indicator--"));
  CHECK(!is_stix_id(""));

  CHECK(stix_id_type("indicator--8c6af861-7b20-41ef-9b59-6344fd872a8f") == "indicator");
  CHECK(stix_id_type("no-separator") == "");
}

TEST_CASE("new_uuid_v4 makes distinct version 4 UUIDs", "[stix][ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto u = new_uuid_v4();
    REQUIRE(is_uuid_v4(u));
    REQUIRE(u.find_first_not_of("0123456789abcdef-") == std::string::npos);
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
  CHECK(is_stix_id("indicator--" + new_uuid_v4()));
}

// ---------------------------------------------------------------------------
// What a valid object tells the server

TEST_CASE("a valid indicator gives id, type, version, spec_version, TLP and minified JSON",
          "[stix]") {
  auto o =
      indicator()
          .set("modified", "\"2017-01-01T00:00:00.000Z\"")
          .set("object_marking_refs", std::string("[") + k_tlp_green + "," + k_tlp_amber + "]");
  auto doc = parse_json(
      "{ \"type\" : \"indicator\",\n  \"spec_version\": \"2.1\", \"id\": \"indicator--" +
      std::string(k_uuid) +
      "\", \"created\": \"2016-04-06T20:03:48.000Z\", \"modified\": \"2017-01-01T00:00:00.000Z\", "
      "\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", \"pattern_type\": \"stix\", "
      "\"valid_from\": \"2016-04-06T20:03:48Z\", \"object_marking_refs\": [" +
      k_tlp_green + ", " + k_tlp_amber + "] }");
  REQUIRE(doc);
  auto info = validate_stix_object(doc->root());
  REQUIRE(info);
  CHECK(info->id == std::string("indicator--") + k_uuid);
  CHECK(info->type == "indicator");
  CHECK(info->version == "2017-01-01T00:00:00.000Z");
  CHECK(info->spec_version == "2.1");
  REQUIRE(info->tlp);
  CHECK(*info->tlp == tlp_level::amber);
  CHECK(info->json.find('\n') == std::string::npos);
  CHECK(info->json.find(": ") == std::string::npos);
  auto again = parse_json(info->json);
  REQUIRE(again);
  CHECK(again->root().equals(doc->root()));
  accepted(o);
}

TEST_CASE("version is modified, else created, else empty, SCOs count as 2.1", "[stix]") {
  auto marking = validate(object()
                              .str("type", "marking-definition")
                              .str("spec_version", "2.1")
                              .str("id", "marking-definition--" + std::string(k_uuid))
                              .set("created", k_created)
                              .str("definition_type", "statement")
                              .set("definition", "{\"statement\":\"Copyright Example\"}"));
  REQUIRE(marking);
  CHECK(marking->version == "2016-04-06T20:03:48.000Z");
  CHECK(!marking->tlp);

  auto ip = validate(sco("ipv4-addr").drop("spec_version").str("value", "198.51.100.1"));
  REQUIRE(ip);
  CHECK(ip->version.empty());
  CHECK(ip->spec_version == "2.1");
}

// ---------------------------------------------------------------------------
// Common properties

TEST_CASE("an object must be a JSON object with a valid type", "[stix][common]") {
  auto doc = parse_json("[1,2]");
  REQUIRE(doc);
  auto r = validate_stix_object(doc->root());
  REQUIRE(!r);
  CHECK_THAT(r.error().message, Catch::Contains("must be a JSON object"));

  refused(indicator().drop("type"), "/type", "missing");
  refused(indicator().set("type", "5"), "/type", "must be a string");
  refused(sdo("bundle"), "/type", "container");
  refused(sdo("Indicator"), "/type", "not a STIX type name");
  refused(sdo("ab"), "/type", "not a STIX type name");
  refused(sdo("x--foo"), "/type", "not a STIX type name");
  refused(sdo("x-foo-"), "/type", "not a STIX type name");
  refused(sdo("1x-foo"), "/type", "not a STIX type name");
  refused(sdo("x_foo"), "/type", "not a STIX type name");
}

TEST_CASE("spec_version: STIX 2.1 only", "[stix][common]") {
  refused(indicator().drop("spec_version"), "/spec_version", "only STIX 2.1 is accepted");
  refused(indicator().str("spec_version", "2.0"), "/spec_version", "only STIX 2.1 is accepted");
  refused(indicator().set("spec_version", "2.1"), "/spec_version", "must be the string");
  // SCOs may leave it out; custom objects too, unless they look like SDOs.
  accepted(sco("url").drop("spec_version").str("value", "http://example.com/"));
  refused(sco("url").str("spec_version", "2.0").str("value", "http://example.com/"),
          "/spec_version", "only STIX 2.1");
  accepted(sco("x-acme-gadget")
               .drop("spec_version")
               .set("extensions",
                    "{\"extension-definition--88b426e6-6704-4b7e-b564-bff6375a9077\":{"
                    "\"extension_type\":\"new-sco\"}}"));
  refused(sdo("x-acme-gadget").drop("spec_version"), "/spec_version", "STIX 2.0 object");
  refused(object()
              .str("type", "marking-definition")
              .str("id", "marking-definition--" + std::string(k_uuid))
              .set("created", k_created)
              .str("definition_type", "statement")
              .set("definition", "{\"statement\":\"x\"}"),
          "/spec_version", "missing");
}

TEST_CASE("id: '<type>--<UUID>' with version 1-5 and the RFC 4122 variant", "[stix][common]") {
  refused(indicator().drop("id"), "/id", "missing");
  refused(indicator().set("id", "42"), "/id", "must be a string");
  refused(indicator().str("id", std::string("malware--") + k_uuid), "/id",
          "must start with the object's type, 'indicator--'");
  refused(indicator().str("id", std::string("indicator-") + k_uuid), "/id",
          "needs '--' between the type and the UUID");
  refused(indicator().str("id", "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"), "/id",
          "version digit (first of the third group) is '0'");
  refused(indicator().str("id", "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"), "/id",
          "variant digit (first of the fourth group) is 'c'");
  refused(indicator().str("id", "indicator--8e2e2d2b-17d4-4cbf-938f"), "/id", "is not a UUID");
  accepted(indicator().str("id", "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"));
}

TEST_CASE("property names: a-z, 0-9 and _, 3 to 250 characters", "[stix][common]") {
  refused(indicator().str("Name", "x"), "/Name", "not an allowed property name");
  refused(indicator().str("ab", "x"), "/ab", "not an allowed property name");
  refused(indicator().str("x-acme", "x"), "/x-acme", "not an allowed property name");
  refused(indicator().str(std::string(251, 'x'), "x"), "/" + std::string(251, 'x'),
          "not an allowed property name");
  accepted(indicator().str("x_acme_field", "x"));
}

TEST_CASE("created and modified: timestamps with milliseconds, modified not before created",
          "[stix][common]") {
  refused(indicator().drop("created"), "/created", "missing; an indicator requires it");
  refused(indicator().drop("modified"), "/modified", "missing");
  refused(indicator().str("created", "2016-13-01T00:00:00.000Z"), "/created",
          "created: '2016-13-01T00:00:00.000Z' is not a valid STIX timestamp (month 13)");
  refused(
      indicator().str("created", "2016-04-06T20:03:48Z").str("modified", "2016-04-06T20:03:48Z"),
      "/created", "needs at least 3 fraction digits");
  refused(indicator().str("modified", "2016-04-06T20:03:48.00Z"), "/modified",
          "needs at least 3 fraction digits");
  refused(indicator().set("created", "1459973028"), "/created", "must be a timestamp string");
  refused(indicator().str("modified", "2016-04-06T20:03:47.999Z"), "/modified",
          "must be the same as or later than created '2016-04-06T20:03:48.000Z'");
  refused(indicator()
              .str("created", "2016-04-06T20:03:48.0000001Z")
              .str("modified", "2016-04-06T20:03:48.000Z"),
          "/modified", "later than created");
  accepted(indicator().str("modified", "2016-04-06T20:03:48.0000000Z"));
  accepted(indicator().str("modified", "2016-04-06T20:03:48.001Z"));
}

TEST_CASE("created_by_ref and every *_ref / *_refs hold STIX ids", "[stix][common]") {
  accepted(indicator().set("created_by_ref", k_identity));
  refused(indicator().set("created_by_ref", k_malware), "/created_by_ref",
          "must refer to identity");
  refused(indicator().str("created_by_ref", "identity-1"), "/created_by_ref",
          "is not a valid STIX identifier");
  refused(indicator().str("x_acme_source_ref", "somewhere"), "/x_acme_source_ref",
          "is not a valid STIX identifier");
  refused(indicator().set("x_acme_source_ref", "[" + std::string(k_malware) + "]"),
          "/x_acme_source_ref", "must be a STIX identifier string");
  refused(indicator().set("x_acme_refs", k_malware), "/x_acme_refs",
          "must be a list of STIX identifiers");
  refused(indicator().set("x_acme_refs", "[" + std::string(k_malware) + ",\"nope\"]"),
          "/x_acme_refs/1", "x_acme_refs[1]: 'nope' is not a valid STIX identifier");
  refused(indicator().set("x_acme_refs", "[]"), "/x_acme_refs", "must not be an empty list");
}

TEST_CASE("no empty lists anywhere", "[stix][common]") {
  refused(indicator().set("labels", "[]"), "/labels", "labels: must not be an empty list");
  refused(indicator().set("x_acme_data", "{\"inner\":{\"list\":[]}}"), "/x_acme_data/inner/list",
          "x_acme_data.inner.list: must not be an empty list");
  refused(indicator().set("x_acme_data", "[[1],[]]"), "/x_acme_data/1",
          "must not be an empty list");
}

TEST_CASE("simple common properties have their types", "[stix][common]") {
  refused(indicator().str("revoked", "no"), "/revoked", "must be true or false");
  refused(indicator().set("labels", "[\"a\",3]"), "/labels/1", "labels[1]: must be a string");
  refused(indicator().set("labels", "\"a\""), "/labels", "must be a list of strings");
  refused(indicator().set("lang", "1"), "/lang", "must be a string");
  refused(indicator().set("name", "1"), "/name", "must be a string");
  refused(indicator().set("description", "[\"x\"]"), "/description", "must be a string");
  accepted(indicator().set("revoked", "true").set("labels", "[\"a\"]").str("lang", "en"));
}

TEST_CASE("confidence is an integer from 0 to 100", "[stix][common]") {
  accepted(indicator().set("confidence", "0"));
  accepted(indicator().set("confidence", "100"));
  refused(indicator().set("confidence", "101"), "/confidence", "101 is out of range (0 to 100)");
  refused(indicator().set("confidence", "-1"), "/confidence", "out of range");
  refused(indicator().set("confidence", "50.5"), "/confidence", "must be an integer");
  refused(indicator().str("confidence", "50"), "/confidence", "must be an integer");
}

TEST_CASE("external_references need source_name and one of description, url, external_id",
          "[stix][common]") {
  accepted(indicator().set("external_references",
                           "[{\"source_name\":\"capec\",\"external_id\":\"CAPEC-163\"}]"));
  refused(indicator().set("external_references", "[{\"url\":\"http://example.com/\"}]"),
          "/external_references/0/source_name", "source_name: missing");
  refused(indicator().set("external_references", "[{\"source_name\":\"capec\"}]"),
          "/external_references/0", "needs at least one of description, url or external_id");
  refused(indicator().set("external_references", "[\"capec\"]"), "/external_references/0",
          "must be an object");
  refused(indicator().set("external_references",
                          "[{\"source_name\":\"x\",\"url\":\"http://e.com/\",\"hashes\":{\"SHA-"
                          "256\":\"abc\"}}]"),
          "/external_references/0/hashes/SHA-256", "is not a valid SHA-256 hash");
}

TEST_CASE("object_marking_refs point at marking-definitions", "[stix][common]") {
  accepted(indicator().set("object_marking_refs", std::string("[") + k_tlp_green + "]"));
  refused(indicator().set("object_marking_refs", std::string("[") + k_identity + "]"),
          "/object_marking_refs/0", "must refer to marking-definition");
}

TEST_CASE("granular_markings: selectors and exactly one of marking_ref or lang", "[stix][common]") {
  const std::string ref = std::string("\"marking_ref\":") + k_tlp_green;
  accepted(indicator().set("granular_markings", "[{\"selectors\":[\"pattern\"]," + ref + "}]"));
  // A selector names a property present in the object (S 7.2.3.1).
  accepted(indicator()
               .str("description", "Beschreibung")
               .set("granular_markings", "[{\"selectors\":[\"description\"],\"lang\":\"de\"}]"));
  refused(indicator().set("granular_markings", "[{" + ref + "}]"), "/granular_markings/0/selectors",
          "selectors: missing");
  refused(indicator().set("granular_markings", "[{\"selectors\":[]," + ref + "}]"),
          "/granular_markings/0/selectors", "must not be an empty list");
  refused(
      indicator().set("granular_markings", "[{\"selectors\":[\"x\"],\"lang\":\"de\"," + ref + "}]"),
      "/granular_markings/0", "exactly one of marking_ref or lang");
  refused(indicator().set("granular_markings", "[{\"selectors\":[\"x\"]}]"), "/granular_markings/0",
          "exactly one of marking_ref or lang");
  refused(
      indicator().set("granular_markings",
                      std::string("[{\"selectors\":[\"x\"],\"marking_ref\":") + k_identity + "}]"),
      "/granular_markings/0/marking_ref", "must refer to marking-definition");
}

TEST_CASE("kill_chain_phases have kill_chain_name and phase_name", "[stix][common]") {
  accepted(indicator().set("kill_chain_phases",
                           "[{\"kill_chain_name\":\"lockheed-martin-cyber-kill-chain\","
                           "\"phase_name\":\"delivery\"}]"));
  refused(indicator().set("kill_chain_phases", "[{\"kill_chain_name\":\"x\"}]"),
          "/kill_chain_phases/0/phase_name", "phase_name: missing");
}

TEST_CASE("extensions: extension-definition keys need a valid extension_type", "[stix][common]") {
  const std::string key = "\"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e\"";
  accepted(indicator().set("extensions",
                           "{" + key + ":{\"extension_type\":\"property-extension\",\"rank\":5}}"));
  refused(indicator().set("extensions", "{" + key + ":{\"rank\":5}}"),
          "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/extension_type",
          "missing");
  refused(
      indicator().set("extensions", "{" + key + ":{\"extension_type\":\"property_extension\"}}"),
      "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/extension_type",
      "'property_extension' is not one of 'new-sdo'");
  refused(indicator().set("extensions",
                          "{\"extension-definition--1234\":{\"extension_type\":\"new-sdo\"}}"),
          "/extensions/extension-definition--1234", "not a valid extension-definition identifier");
  refused(indicator().set("extensions", "{" + key + ":\"property-extension\"}"),
          "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e",
          "must be an object");
  refused(indicator().set("extensions", "[]"), "/extensions", "must not be an empty list");
  // Other names are (deprecated) custom extensions: any object.
  accepted(indicator().set("extensions", "{\"x-acme-ext\":{\"level\":1}}"));
  // Predefined extensions belong to their object type.
  refused(indicator().set("extensions",
                          "{\"archive-ext\":{\"contains_refs\":[" + std::string(k_file) + "]}}"),
          "/extensions/archive-ext", "is for file objects, not indicator");
  // Properties inside extensions follow the property rules.
  refused(indicator().set("extensions", "{" + key +
                                            ":{\"extension_type\":\"property-extension\","
                                            "\"source_ref\":\"nope\"}}"),
          "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/source_ref",
          "is not a valid STIX identifier");
}

TEST_CASE("hashes: known algorithms have their lengths, custom names are allowed",
          "[stix][common]") {
  auto file = [](const std::string& hashes) { return sco("file").set("hashes", hashes); };
  accepted(file("{\"MD5\":\"7b0a6ad1d4ba8ef3c5a9c6ff0d1e5d46\"}"));
  accepted(file("{\"SHA-1\":\"" + std::string(40, 'a') + "\",\"SHA-256\":\"" +
                std::string(64, 'F') + "\",\"SHA-512\":\"" + std::string(128, '0') +
                "\",\"SHA3-256\":\"" + std::string(64, '1') + "\",\"SHA3-512\":\"" +
                std::string(128, '2') + "\"}"));
  accepted(file("{\"SSDEEP\":\"96:ZWHkWdcIGWb9CeKeYD7Zdx5BWL8Jq2:ZVWOqWbKeYD7X2\"}"));
  accepted(file("{\"TLSH\":\"" + std::string(70, 'a') + "\"}"));
  accepted(file("{\"TLSH\":\"T1" + std::string(70, 'a') + "\"}"));
  accepted(file("{\"x_acme_hash\":\"anything\"}"));
  refused(file("{\"MD5\":\"7b0a6ad1d4ba8ef3c5a9c6ff0d1e5d4\"}"), "/hashes/MD5",
          "is not a valid MD5 hash (32 hexadecimal digits)");
  refused(file("{\"md5\":\"xyz\"}"), "/hashes/md5", "is not a valid MD5 hash");
  refused(file("{\"SHA-1\":\"" + std::string(39, 'a') + "\"}"), "/hashes/SHA-1", "SHA-1");
  refused(file("{\"SHA-256\":\"" + std::string(64, 'g') + "\"}"), "/hashes/SHA-256", "SHA-256");
  refused(file("{\"SHA-512\":\"" + std::string(64, 'a') + "\"}"), "/hashes/SHA-512", "SHA-512");
  refused(file("{\"SHA3-256\":\"a\"}"), "/hashes/SHA3-256", "SHA3-256");
  refused(file("{\"SHA3-512\":\"a\"}"), "/hashes/SHA3-512", "SHA3-512");
  refused(file("{\"SSDEEP\":\"not a hash\"}"), "/hashes/SSDEEP", "SSDEEP");
  refused(file("{\"TLSH\":\"" + std::string(69, 'a') + "\"}"), "/hashes/TLSH", "TLSH");
  refused(file("{\"MD5\":5}"), "/hashes/MD5", "must be a string");
  refused(file("{\"a/b c\":\"x\"}"), "/hashes/a~1b c", "is not an allowed hash name");
  refused(file("[\"MD5\"]"), "/hashes", "must be an object");
}

TEST_CASE("*_hex is hexadecimal and *_bin is base64", "[stix][common]") {
  accepted(sco("file").str("name", "a").str("magic_number_hex", "FFD8"));
  refused(sco("file").str("name", "a").str("magic_number_hex", "FFD"), "/magic_number_hex",
          "is not hexadecimal");
  refused(sco("file").str("name", "a").str("magic_number_hex", "zz"), "/magic_number_hex",
          "is not hexadecimal");
  accepted(sco("artifact").str("payload_bin", "aGVsbG8="));
  refused(sco("artifact").str("payload_bin", "aGVsbG8"), "/payload_bin", "is not valid base64");
  refused(sco("artifact").str("payload_bin", "aGV*bG8="), "/payload_bin", "is not valid base64");
  refused(sco("artifact").str("payload_bin", "aG=sbG8="), "/payload_bin", "is not valid base64");
}

TEST_CASE("the timestamp properties of each type are checked", "[stix][common]") {
  refused(indicator().str("valid_from", "2016-04-31T00:00:00Z"), "/valid_from",
          "day 31 of month 4");
  refused(sdo("campaign").str("name", "c").str("first_seen", "2016-04-06"), "/first_seen",
          "not a valid STIX timestamp");
  refused(sco("file").str("name", "a").str("ctime", "2016-04-06 10:00"), "/ctime",
          "not a valid STIX timestamp");
  refused(sco("x509-certificate").str("validity_not_after", "soon"), "/validity_not_after",
          "not a valid STIX timestamp");
  // Other timestamps need no fraction digits.
  accepted(indicator().str("valid_from", "2016-04-06T20:03:48Z"));
}

TEST_CASE("custom object types are accepted when the common properties are valid",
          "[stix][common]") {
  accepted(sdo("x-acme-widget").str("anything", "goes").set("x_count", "3"));
  accepted(
      sdo("my-favorite-sdo")
          .set(
              "extensions",
              "{\"extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62\":{\"extension_type\":"
              "\"new-sdo\"}}"));
  refused(sdo("x-acme-widget").str("modified", "2015-01-01T00:00:00.000Z"), "/modified",
          "later than created");
  refused(sdo("x-acme-widget").set("labels", "[]"), "/labels", "empty list");
  refused(sdo("x-acme-widget").str("id", "x-acme-widget--1"), "/id", "is not a UUID");
}

// ---------------------------------------------------------------------------
// SDOs

TEST_CASE("SDOs that require a name", "[stix][sdo]") {
  for (const char* type :
       {"attack-pattern", "campaign", "course-of-action", "identity", "incident", "infrastructure",
        "intrusion-set", "threat-actor", "tool", "vulnerability"}) {
    INFO(type);
    accepted(sdo(type).str("name", "Example"));
    refused(sdo(type), "/name", "name: missing");
    refused(sdo(type).set("name", "7"), "/name", "must be a string");
  }
}

TEST_CASE("first_seen / last_seen ordering", "[stix][sdo]") {
  for (const char* type : {"campaign", "infrastructure", "intrusion-set", "threat-actor"}) {
    INFO(type);
    accepted(sdo(type)
                 .str("name", "x")
                 .str("first_seen", "2016-01-01T00:00:00Z")
                 .str("last_seen", "2016-01-01T00:00:00.000Z"));
    refused(sdo(type)
                .str("name", "x")
                .str("first_seen", "2016-01-02T00:00:00Z")
                .str("last_seen", "2016-01-01T00:00:00Z"),
            "/last_seen", "must be the same as or later than first_seen");
  }
}

TEST_CASE("indicator: pattern, pattern_type and valid_from, valid_until after valid_from",
          "[stix][sdo]") {
  accepted(indicator());
  refused(indicator().drop("pattern"), "/pattern", "pattern: missing; an indicator requires it");
  refused(indicator().drop("pattern_type"), "/pattern_type", "pattern_type: missing");
  refused(indicator().drop("valid_from"), "/valid_from", "valid_from: missing");
  refused(indicator().str("valid_until", "2016-04-06T20:03:48Z"), "/valid_until",
          "must be later than valid_from");
  refused(indicator().str("valid_until", "2016-04-05T00:00:00Z"), "/valid_until",
          "must be later than valid_from");
  accepted(indicator().str("valid_until", "2016-04-06T20:03:48.001Z"));
  refused(indicator().set("indicator_types", "[\"malicious-activity\", 1]"), "/indicator_types/1",
          "must be a string");
}

TEST_CASE("indicator: STIX patterns are validated, other languages are not", "[stix][sdo]") {
  refused(indicator().str("pattern", "ipv4-addr:value = '198.51.100.1'"), "/pattern",
          "not a valid STIX pattern");
  refused(indicator().str("pattern", "[ipv4-addr:value = '198.51.100.1'"), "/pattern",
          "not a valid STIX pattern");
  accepted(indicator().str("pattern_type", "snort").str("pattern", "alert tcp any any -> any 80"));
  accepted(indicator().str("pattern",
                           "[file:hashes.'SHA-256' = "
                           "'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']"));
}

TEST_CASE("grouping, note, opinion and report", "[stix][sdo]") {
  const std::string refs = std::string("[") + k_malware + "]";
  accepted(sdo("grouping").str("context", "suspicious-activity").set("object_refs", refs));
  refused(sdo("grouping").set("object_refs", refs), "/context", "context: missing");
  refused(sdo("grouping").str("context", "x"), "/object_refs", "object_refs: missing");

  accepted(sdo("note").str("content", "text").set("object_refs", refs));
  refused(sdo("note").set("object_refs", refs), "/content", "content: missing");
  refused(sdo("note").str("content", "text"), "/object_refs", "object_refs: missing");

  accepted(sdo("opinion").str("opinion", "strongly-agree").set("object_refs", refs));
  refused(sdo("opinion").str("opinion", "maybe").set("object_refs", refs), "/opinion",
          "'maybe' is not one of 'strongly-disagree'");
  refused(sdo("opinion").set("object_refs", refs), "/opinion", "opinion: missing");
  refused(sdo("opinion").str("opinion", "agree"), "/object_refs", "missing");

  auto report = sdo("report").str("name", "r").set("published", k_created).set("object_refs", refs);
  accepted(report);
  refused(sdo("report").str("name", "r").set("object_refs", refs), "/published", "missing");
  refused(sdo("report").set("published", k_created).set("object_refs", refs), "/name",
          "name: missing; a report requires it");
  refused(report.str("published", "2016-02-30T00:00:00Z"), "/published", "day 30 of month 2");
}

TEST_CASE("location: region, country, or latitude with longitude", "[stix][sdo]") {
  accepted(sdo("location").str("region", "northern-america"));
  accepted(sdo("location").str("country", "ca"));
  accepted(sdo("location")
               .set("latitude", "48.8566")
               .set("longitude", "2.3522")
               .set("precision", "1000"));
  refused(sdo("location"), "", "at least one of region, country, or latitude and longitude");
  refused(sdo("location").set("latitude", "48.8"), "/longitude", "go together");
  refused(sdo("location").set("latitude", "91").set("longitude", "0"), "/latitude",
          "out of range (-90 to 90)");
  refused(sdo("location").set("latitude", "0").set("longitude", "-180.5"), "/longitude",
          "out of range");
  refused(sdo("location").str("country", "ca").set("precision", "10"), "/precision",
          "latitude and longitude");
}

TEST_CASE("malware: is_family, and a name for families", "[stix][sdo]") {
  accepted(sdo("malware").set("is_family", "false"));
  accepted(sdo("malware").set("is_family", "true").str("name", "Poison Ivy"));
  refused(sdo("malware").str("name", "x"), "/is_family", "is_family: missing");
  refused(sdo("malware").set("is_family", "true"), "/name", "a malware family requires a name");
  refused(sdo("malware").str("is_family", "yes"), "/is_family", "must be true or false");
  refused(sdo("malware")
              .set("is_family", "false")
              .str("first_seen", "2017-01-01T00:00:00Z")
              .str("last_seen", "2016-01-01T00:00:00Z"),
          "/last_seen", "later than first_seen");
}

TEST_CASE("malware-analysis: product and result or analysis_sco_refs", "[stix][sdo]") {
  accepted(sdo("malware-analysis").str("product", "av").str("result", "malicious"));
  accepted(sdo("malware-analysis")
               .str("product", "av")
               .set("analysis_sco_refs", std::string("[") + k_file + "]"));
  refused(sdo("malware-analysis").str("result", "malicious"), "/product", "product: missing");
  refused(sdo("malware-analysis").str("product", "av"), "", "needs result or analysis_sco_refs");
  refused(sdo("malware-analysis").str("product", "av").str("result", "x").str("submitted", "x"),
          "/submitted", "not a valid STIX timestamp");
}

TEST_CASE("observed-data: times, count, and object_refs xor objects", "[stix][sdo]") {
  auto od = [] {
    return sdo("observed-data")
        .str("first_observed", "2015-12-21T19:00:00Z")
        .str("last_observed", "2015-12-21T19:00:00Z")
        .set("number_observed", "50")
        .set("object_refs", std::string("[") + k_ipv4 + "]");
  };
  accepted(od());
  accepted(od().drop("object_refs")
               .set("objects", "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"1.2.3.4\"}}"));
  refused(od().drop("first_observed"), "/first_observed", "missing");
  refused(od().drop("number_observed"), "/number_observed", "missing");
  refused(od().set("number_observed", "0"), "/number_observed", "out of range (1 to 999999999)");
  refused(od().set("number_observed", "1000000000"), "/number_observed", "out of range");
  refused(od().set("objects", "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"1.2.3.4\"}}"), "",
          "must not both be present");
  refused(od().drop("object_refs"), "", "needs object_refs");
  refused(od().str("last_observed", "2015-12-21T18:59:59Z"), "/last_observed",
          "later than first_observed");
}

// ---------------------------------------------------------------------------
// SROs

TEST_CASE("relationship: type, endpoints, and times", "[stix][sro]") {
  auto rel = [] {
    return sdo("relationship")
        .str("relationship_type", "indicates")
        .set("source_ref", k_indicator)
        .set("target_ref", k_malware);
  };
  accepted(rel());
  accepted(rel().set("target_ref", k_file));
  refused(rel().drop("target_ref"), "/target_ref",
          "target_ref: missing; a relationship requires it");
  refused(rel().drop("source_ref"), "/source_ref", "missing");
  refused(rel().drop("relationship_type"), "/relationship_type", "missing");
  refused(rel().str("relationship_type", "Indicates"), "/relationship_type",
          "may only use a-z, 0-9 and '-'");
  refused(rel().str("relationship_type", "related to"), "/relationship_type", "may only use");
  refused(rel().set("target_ref", k_relationship), "/target_ref", "connects SDOs and SCOs only");
  refused(rel().set("source_ref", k_tlp_green), "/source_ref", "points at a marking-definition");
  refused(rel().str("target_ref", "malware-31b940d4"), "/target_ref",
          "is not a valid STIX identifier");
  refused(rel().str("start_time", "2016-01-01T00:00:00Z").str("stop_time", "2016-01-01T00:00:00Z"),
          "/stop_time", "must be later than start_time");
}

TEST_CASE("sighting: what was sighted, where, and how often", "[stix][sro]") {
  auto s = [] { return sdo("sighting").set("sighting_of_ref", k_indicator); };
  accepted(s());
  accepted(s().set("sighting_of_ref", "\"x-acme-thing--8c6af861-7b20-41ef-9b59-6344fd872a8f\""));
  refused(sdo("sighting"), "/sighting_of_ref", "missing");
  refused(s().set("sighting_of_ref", k_file), "/sighting_of_ref", "must refer to an SDO");
  refused(s().set("sighting_of_ref", k_relationship), "/sighting_of_ref", "must refer to an SDO");
  refused(s().set("count", "-1"), "/count", "out of range");
  refused(s().set("count", "1000000000"), "/count", "out of range");
  refused(s().set("where_sighted_refs", std::string("[") + k_indicator + "]"),
          "/where_sighted_refs/0", "must refer to identity or location");
  refused(s().set("observed_data_refs", std::string("[") + k_indicator + "]"),
          "/observed_data_refs/0", "must refer to observed-data");
  refused(s().str("summary", "true"), "/summary", "must be true or false");
  refused(s().str("first_seen", "2016-01-02T00:00:00Z").str("last_seen", "2016-01-01T00:00:00Z"),
          "/last_seen", "later than first_seen");
}

// ---------------------------------------------------------------------------
// SCOs

TEST_CASE("artifact: payload_bin or url, with hashes for url", "[stix][sco]") {
  const std::string hashes = "{\"MD5\":\"" + std::string(32, 'a') + "\"}";
  accepted(sco("artifact").str("mime_type", "text/plain").str("payload_bin", "aGVsbG8="));
  accepted(sco("artifact").str("url", "https://example.com/a").set("hashes", hashes));
  refused(sco("artifact").str("payload_bin", "aGVsbG8=").str("url", "https://example.com/a"),
          "/url", "must not be present together with payload_bin");
  refused(sco("artifact").str("url", "https://example.com/a"), "/hashes",
          "requires hashes of its content");
  refused(sco("artifact").str("payload_bin", "aGVsbG8=").str("encryption_algorithm", "rot13"),
          "/encryption_algorithm", "'rot13' is not one of 'AES-256-GCM'");
  refused(sco("artifact").str("payload_bin", "aGVsbG8=").str("decryption_key", "k"),
          "/decryption_key", "without encryption_algorithm");
}

TEST_CASE("SCOs with one required property", "[stix][sco]") {
  accepted(sco("autonomous-system").set("number", "15139"));
  refused(sco("autonomous-system"), "/number", "number: missing");
  refused(sco("autonomous-system").str("number", "AS15139"), "/number", "must be an integer");
  accepted(sco("directory").str("path", "C:\\\\Windows"));
  refused(sco("directory"), "/path", "path: missing");
  for (const auto& [type, value] :
       std::vector<std::pair<std::string, std::string>>{{"domain-name", "example.com"},
                                                        {"email-addr", "jdoe@example.com"},
                                                        {"ipv4-addr", "198.51.100.3"},
                                                        {"ipv6-addr", "2001:db8::1"},
                                                        {"url", "https://example.com/"}}) {
    INFO(type);
    accepted(sco(type).str("value", value));
    refused(sco(type), "/value", "value: missing");
  }
  for (const char* type : {"mutex", "software"}) {
    INFO(type);
    accepted(sco(type).str("name", "x"));
    refused(sco(type), "/name", "name: missing");
  }
}

TEST_CASE("mac-addr: lower-case, colon-delimited MAC-48", "[stix][sco]") {
  accepted(sco("mac-addr").str("value", "d2:fb:49:24:37:18"));
  refused(sco("mac-addr").str("value", "D2:FB:49:24:37:18"), "/value", "MAC-48");
  refused(sco("mac-addr").str("value", "d2-fb-49-24-37-18"), "/value", "MAC-48");
  refused(sco("mac-addr").str("value", "d2:fb:49:24:37"), "/value", "MAC-48");
}

TEST_CASE("email-message: is_multipart and its consequences", "[stix][sco]") {
  auto mail = [] { return sco("email-message").set("is_multipart", "false"); };
  accepted(mail()
               .str("body", "hi")
               .set("additional_header_fields", "{\"Reply-To\":[\"a@example.com\"]}"));
  refused(sco("email-message"), "/is_multipart", "is_multipart: missing");
  refused(mail().str("is_multipart", "false"), "/is_multipart", "must be true or false");
  refused(mail().set("is_multipart", "true").str("body", "hi"), "/body",
          "must not be present when is_multipart is true");
  refused(mail().set("body_multipart", "[{\"body\":\"x\"}]"), "/body_multipart",
          "must not be present when is_multipart is false");
  refused(mail().set("additional_header_fields", "{\"Reply-To\":\"a@example.com\"}"),
          "/additional_header_fields/Reply-To", "must be a list of strings");
  refused(mail().set("from_ref", k_ipv4), "/from_ref", "must refer to email-addr");
}

TEST_CASE("file: hashes or name", "[stix][sco]") {
  accepted(sco("file").str("name", "a.exe"));
  accepted(sco("file").set("hashes", "{\"MD5\":\"" + std::string(32, 'a') + "\"}"));
  refused(sco("file").set("size", "10"), "", "a file needs hashes or name");
  refused(sco("file").str("name", "a").set("size", "-1"), "/size", "out of range");
  refused(sco("file").str("name", "a").set("parent_directory_ref", k_file), "/parent_directory_ref",
          "must refer to directory");
}

TEST_CASE("network-traffic: protocols and an endpoint", "[stix][sco]") {
  auto nt = [] {
    return sco("network-traffic").set("protocols", "[\"ipv4\",\"tcp\"]").set("dst_ref", k_ipv4);
  };
  accepted(nt());
  refused(nt().drop("protocols"), "/protocols", "protocols: missing");
  refused(nt().set("protocols", "[]"), "/protocols", "must not be an empty list");
  refused(nt().drop("dst_ref"), "", "needs src_ref or dst_ref");
  refused(nt().set("dst_port", "65536"), "/dst_port", "out of range (0 to 65535)");
  refused(nt().set("src_port", "-1"), "/src_port", "out of range");
  refused(nt().set("is_active", "true").str("end", "2016-01-01T00:00:00Z"), "/end",
          "must not be present while is_active is true");
  refused(nt().set("src_ref", k_file), "/src_ref", "must refer to ipv4-addr or ipv6-addr");
}

TEST_CASE("SCOs that need at least one property of their own", "[stix][sco]") {
  for (const char* type : {"process", "user-account", "windows-registry-key", "x509-certificate"}) {
    INFO(type);
    refused(sco(type), "", "needs at least one property of its own");
    refused(sco(type).set("defanged", "true"), "", "needs at least one property of its own");
  }
  accepted(sco("process").set("pid", "1"));
  accepted(sco("user-account").str("user_id", "1001"));
  accepted(sco("windows-registry-key").str("key", "HKEY_LOCAL_MACHINE\\\\System"));
  accepted(sco("x509-certificate").str("serial_number", "36:f7"));
  refused(
      sco("windows-registry-key").set("values", "[{\"name\":\"x\",\"data_type\":\"REG_TEXT\"}]"),
      "/values/0/data_type", "'REG_TEXT' is not one of 'REG_NONE'");
}

TEST_CASE("predefined SCO extensions have their required properties", "[stix][sco]") {
  auto nt = [](const std::string& ext) {
    return sco("network-traffic")
        .set("protocols", "[\"tcp\"]")
        .set("dst_ref", k_ipv4)
        .set("extensions", ext);
  };
  accepted(
      nt("{\"http-request-ext\":{\"request_method\":\"get\",\"request_value\":\"/\","
         "\"request_header\":{\"Accept\":[\"text/plain\"]}}}"));
  refused(nt("{\"http-request-ext\":{\"request_method\":\"get\",\"request_value\":\"/\","
             "\"request_header\":{\"Accept\":\"text/plain\"}}}"),
          "/extensions/http-request-ext/request_header/Accept",
          "must be a list of strings, not a string (each header's value is a list of strings");
  refused(nt("{\"http-request-ext\":{\"request_method\":\"get\"}}"),
          "/extensions/http-request-ext/request_value", "missing");
  accepted(nt("{\"socket-ext\":{\"address_family\":\"AF_INET\",\"socket_type\":\"SOCK_STREAM\"}}"));
  refused(nt("{\"socket-ext\":{\"is_listening\":true}}"), "/extensions/socket-ext/address_family",
          "missing");
  refused(nt("{\"socket-ext\":{\"address_family\":\"AF_UNIX\"}}"),
          "/extensions/socket-ext/address_family", "'AF_UNIX' is not one of");
  accepted(nt("{\"tcp-ext\":{\"src_flags_hex\":\"00000002\"}}"));
  refused(nt("{\"tcp-ext\":{\"x_note\":\"x\"}}"), "/extensions/tcp-ext",
          "needs src_flags_hex or dst_flags_hex");
  refused(nt("{\"icmp-ext\":{\"icmp_type_hex\":\"08\"}}"), "/extensions/icmp-ext/icmp_code_hex",
          "missing");
  refused(nt("{\"icmp-ext\":{\"icmp_type_hex\":\"8\",\"icmp_code_hex\":\"00\"}}"),
          "/extensions/icmp-ext/icmp_type_hex", "is not hexadecimal");
  refused(nt("{\"tcp-ext\":{}}"), "/extensions/tcp-ext", "at least one property");

  auto file = [](const std::string& ext) {
    return sco("file").str("name", "a.zip").set("extensions", ext);
  };
  accepted(file("{\"archive-ext\":{\"contains_refs\":[" + std::string(k_file) + "]}}"));
  refused(file("{\"archive-ext\":{\"comment\":\"x\"}}"), "/extensions/archive-ext/contains_refs",
          "missing");
  refused(file("{\"windows-pebinary-ext\":{\"machine_hex\":\"014c\"}}"),
          "/extensions/windows-pebinary-ext/pe_type", "missing");

  auto proc = [](const std::string& ext) { return sco("process").set("extensions", ext); };
  accepted(proc("{\"windows-service-ext\":{\"start_type\":\"SERVICE_AUTO_START\"}}"));
  refused(proc("{\"windows-service-ext\":{\"start_type\":\"AUTO\"}}"),
          "/extensions/windows-service-ext/start_type", "is not one of");
  refused(proc("{\"windows-process-ext\":{\"integrity_level\":\"root\"}}"),
          "/extensions/windows-process-ext/integrity_level", "is not one of");
}

// ---------------------------------------------------------------------------
// Marking definitions, language content, extension definitions

namespace {

object marking(const std::string& id) {
  object o;
  o.str("type", "marking-definition")
      .str("spec_version", "2.1")
      .str("id", id)
      .str("created", "2017-01-20T00:00:00.000Z");
  return o;
}

// The published TLP 2.0 object when id and level belong together.
object tlp2(const std::string& id, const std::string& level) {
  std::string name = "TLP:";
  for (char c : level) name += c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return marking(id)
      .str("created", "2022-10-01T00:00:00.000Z")
      .str("name", name)
      .set("extensions", "{\"" + std::string(k_tlp2_ext) +
                             "\":{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"" +
                             level + "\"}}");
}

}  // namespace

TEST_CASE("marking-definition: definition_type and definition without extensions",
          "[stix][marking]") {
  const std::string id = std::string("marking-definition--") + k_uuid;
  accepted(marking(id)
               .str("definition_type", "statement")
               .set("definition", "{\"statement\":\"(c) Example\"}"));
  // No millisecond minimum for a marking's created (S 7.2.1).
  accepted(marking(id)
               .str("created", "2017-06-01T00:00:00Z")
               .str("definition_type", "statement")
               .set("definition", "{\"statement\":\"(c) Example\"}"));
  refused(marking(id), "/definition_type", "missing; a marking-definition without extensions");
  refused(marking(id).str("definition_type", "statement"), "/definition", "missing");
  refused(marking(id).str("definition_type", "statement").set("definition", "{\"text\":\"x\"}"),
          "/definition/statement", "missing");
  refused(marking(id).str("definition_type", "statement").str("definition", "x"), "/definition",
          "must be an object");
  refused(marking(id)
              .drop("created")
              .str("definition_type", "statement")
              .set("definition", "{\"statement\":\"x\"}"),
          "/created", "missing");
  refused(marking(id)
              .str("definition_type", "statement")
              .set("definition", "{\"statement\":\"x\"}")
              .set("object_marking_refs", "[\"" + id + "\"]"),
          "/object_marking_refs/0", "must not refer to itself");
}

TEST_CASE("marking-definition: TLP 1.0 markings are the four fixed objects", "[stix][marking]") {
  const std::string green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
  auto r = validate(marking(green)
                        .str("name", "TLP:GREEN")
                        .str("definition_type", "tlp")
                        .set("definition", "{\"tlp\":\"green\"}"));
  REQUIRE(r);
  accepted(marking("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9")
               .str("name", "TLP:WHITE")
               .str("definition_type", "tlp")
               .set("definition", "{\"tlp\":\"white\"}"));
  // The spec's own C.2.1 example: a statement that reuses the TLP:GREEN id.
  refused(marking(green)
              .str("definition_type", "statement")
              .set("definition", "{\"statement\":\"Copyright 2019, Example Corp\"}"),
          "/id", "is the fixed TLP 1.0 marking TLP:GREEN");
  refused(marking(green).str("definition_type", "tlp").set("definition", "{\"tlp\":\"amber\"}"),
          "/id", "must be exactly that TLP marking");
  refused(marking(green).str("definition_type", "tlp").set("definition", "{\"tlp\":\"Green\"}"),
          "/definition/tlp", "'Green' is not one of 'white'");
  refused(marking(std::string("marking-definition--") + k_uuid)
              .str("definition_type", "tlp")
              .set("definition", "{\"tlp\":\"green\"}"),
          "/definition_type", "must use one of the four fixed TLP 1.0 ids");
  refused(marking(green).str("definition_type", "tlp").set("definition", "{}"), "/definition/tlp",
          "missing");
}

TEST_CASE("marking-definition: TLP 2.0 markings are the five fixed objects", "[stix][marking]") {
  accepted(tlp2(k_tlp2_green, "green"));
  accepted(tlp2("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"));
  refused(tlp2(k_tlp2_green, "amber"), "/id", "is the fixed TLP 2.0 marking TLP:GREEN");
  refused(tlp2(k_tlp2_green, "white"), "/extensions/" + std::string(k_tlp2_ext) + "/tlp_2_0",
          "'white' is not one of 'clear'");
  refused(tlp2(std::string("marking-definition--") + k_uuid, "green"), "/extensions",
          "must use one of the five fixed TLP 2.0 ids");
  refused(marking(k_tlp2_green)
              .str("definition_type", "statement")
              .set("definition", "{\"statement\":\"x\"}"),
          "/id", "is the fixed TLP 2.0 marking");
  refused(marking(k_tlp2_green)
              .set("extensions", "{\"" + std::string(k_tlp2_ext) +
                                     "\":{\"extension_type\":\"property-extension\"}}"),
          "/extensions/" + std::string(k_tlp2_ext) + "/tlp_2_0", "missing");
}

TEST_CASE("language-content: object_ref and contents", "[stix][meta]") {
  auto lc = [] {
    return sdo("language-content")
        .set("object_ref", k_malware)
        .set("contents", "{\"de\":{\"name\":\"Bankraub\"}}");
  };
  accepted(lc());
  refused(lc().drop("object_ref"), "/object_ref", "missing");
  refused(lc().drop("contents"), "/contents", "missing");
  refused(lc().set("contents", "{\"de\":\"Bankraub\"}"), "/contents/de", "must be an object");
  refused(lc().set("contents", "{}"), "/contents", "at least one language");
  refused(lc().str("object_modified", "yesterday"), "/object_modified",
          "not a valid STIX timestamp");
}

TEST_CASE("extension-definition: creator, name, schema, version, extension_types", "[stix][meta]") {
  auto ed = [] {
    return sdo("extension-definition")
        .set("created_by_ref", k_identity)
        .str("name", "Extension My Favorite SDO and Sub-Comp")
        .str("schema", "https://www.example.com/schema-my-favorite-sdo-1/v1/")
        .str("version", "1.2.1")
        .set("extension_types", "[\"new-sdo\"]");
  };
  accepted(ed());
  refused(ed().drop("created_by_ref"), "/created_by_ref",
          "missing; an extension-definition requires it");
  refused(ed().drop("schema"), "/schema", "missing");
  refused(ed().drop("version"), "/version", "missing");
  refused(ed().drop("extension_types"), "/extension_types", "missing");
  refused(ed().set("extension_types", "[\"new-sdo\",\"new_sco\"]"), "/extension_types/1",
          "'new_sco' is not one of");
}

// ---------------------------------------------------------------------------
// Envelopes and files

namespace {

std::string good_indicator_json() {
  return indicator().json();
}

std::string bad_indicator_json() {
  return indicator()
      .str("id", "indicator--6c8e2b6c-1c8f-4e5c-9a51-7e2e6d0e5a11")
      .drop("pattern_type")
      .json();
}

json_limits limits() {
  return {};
}

}  // namespace

TEST_CASE("parse_envelope validates each object and fails only on the envelope",
          "[stix][envelope]") {
  auto r = parse_envelope(
      "{\"more\":false,\"objects\":[" + good_indicator_json() + "," + bad_indicator_json() + ",7]}",
      limits(), 10);
  REQUIRE(r);
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].info);
  CHECK((*r)[0].id == std::string("indicator--") + k_uuid);
  CHECK((*r)[0].version == "2016-04-06T20:03:48.000Z");
  CHECK(!(*r)[1].info);
  CHECK((*r)[1].id == "indicator--6c8e2b6c-1c8f-4e5c-9a51-7e2e6d0e5a11");
  CHECK((*r)[1].version == "2016-04-06T20:03:48.000Z");
  CHECK((*r)[1].problem.where == "/pattern_type");
  CHECK(!(*r)[2].info);
  CHECK((*r)[2].id.empty());

  auto empty = parse_envelope("{\"objects\":[]}", limits(), 10);
  REQUIRE(empty);
  CHECK(empty->empty());

  CHECK_THAT(parse_envelope("{\"objects\":[", limits(), 10).error().message,
             Catch::Contains("not valid JSON"));
  CHECK_THAT(parse_envelope("[]", limits(), 10).error().message,
             Catch::Contains("must be a JSON object"));
  CHECK_THAT(parse_envelope("{}", limits(), 10).error().message,
             Catch::Contains("no \"objects\" list"));
  CHECK_THAT(parse_envelope("{\"objects\":{}}", limits(), 10).error().message,
             Catch::Contains("must be a list"));
  const std::string three = "{\"objects\":[" + good_indicator_json() + "," + good_indicator_json() +
                            "," + good_indicator_json() + "]}";
  CHECK(parse_envelope(three, limits(), 3));
  CHECK_THAT(parse_envelope(three, limits(), 2).error().message,
             Catch::Contains("holds 3 objects, more than the limit of 2"));
  json_limits small;
  small.max_bytes = 10;
  CHECK(!parse_envelope(three, small, 10));
}

TEST_CASE("parse_stix_content takes bundles, envelopes, lists, single objects and JSON lines",
          "[stix][envelope]") {
  const std::string a = good_indicator_json();
  const std::string b = bad_indicator_json();
  auto count_ok = [](const result<std::vector<parsed_object>>& r) {
    std::size_t n = 0;
    for (const auto& p : *r) n += p.info ? 1 : 0;
    return n;
  };

  auto bundle = parse_stix_content("{\"type\":\"bundle\",\"id\":\"bundle--" + std::string(k_uuid) +
                                       "\",\"objects\":[" + a + "," + b + "]}",
                                   limits(), 10);
  REQUIRE(bundle);
  CHECK(bundle->size() == 2);
  CHECK(count_ok(bundle) == 1);

  auto no_id = parse_stix_content("{\"type\":\"bundle\",\"objects\":[" + a + "]}", limits(), 10);
  REQUIRE(!no_id);
  CHECK(no_id.error().where == "/id");

  auto envelope = parse_stix_content("{\"objects\":[" + a + "]}", limits(), 10);
  REQUIRE(envelope);
  CHECK(count_ok(envelope) == 1);

  auto typeless = parse_stix_content(
      "{\"id\":\"bundle--" + std::string(k_uuid) + "\",\"objects\":[" + a + "]}", limits(), 10);
  REQUIRE(!typeless);
  CHECK_THAT(typeless.error().message, Catch::Contains("no \"type\": \"bundle\""));

  auto list = parse_stix_content("[" + a + "," + a + "]", limits(), 10);
  REQUIRE(list);
  CHECK(count_ok(list) == 2);

  auto single = parse_stix_content(a, limits(), 10);
  REQUIRE(single);
  CHECK(count_ok(single) == 1);

  auto lines = parse_stix_content(a + "\n\n" + b + "\r\n" + a + "\n", limits(), 10);
  REQUIRE(lines);
  CHECK(lines->size() == 3);
  CHECK(count_ok(lines) == 2);

  auto bad_line = parse_stix_content(a + "\n{\"type\":\n" + a, limits(), 10);
  REQUIRE(!bad_line);
  CHECK_THAT(bad_line.error().message, Catch::StartsWith("line 2:"));

  auto pretty = parse_stix_content("{\n  \"type\": \"indicator\",\n  ]\n}", limits(), 10);
  REQUIRE(!pretty);
  CHECK_THAT(pretty.error().message, Catch::StartsWith("not valid JSON"));

  CHECK(!parse_stix_content("42", limits(), 10));
  CHECK(!parse_stix_content("[" + a + "," + a + "]", limits(), 1));
  CHECK(!parse_stix_content(a + "\n" + a + "\n", limits(), 1));
  CHECK(!parse_stix_content(a, limits(), 0));
}

TEST_CASE("more shape rules, one case each", "[stix]") {
  refused(sco("file").str("name", "a").str("defanged", "yes"), "/defanged",
          "must be true or false");
  refused(indicator().set("granular_markings", "[{\"selectors\":[\"x\"],\"lang\":7}]"),
          "/granular_markings/0/lang", "must be a string");
  refused(indicator().set("kill_chain_phases", "[{\"phase_name\":\"x\"}]"),
          "/kill_chain_phases/0/kill_chain_name", "missing");
  refused(sdo("location").set("region", "1"), "/region", "must be a string");
  refused(sdo("malware-analysis").str("product", "av").set("result", "[\"x\"]"), "/result",
          "must be a string");
  refused(sco("artifact").str("url", "https://e.com/").set("hashes", "{}").set("mime_type", "1"),
          "/mime_type", "must be a string");
  refused(sdo("observed-data")
              .str("first_observed", "2015-12-21T19:00:00Z")
              .str("last_observed", "2015-12-21T19:00:00Z")
              .set("number_observed", "1")
              .set("objects", "[{\"type\":\"ipv4-addr\"}]"),
          "/objects", "must be an object");
  refused(sdo("extension-definition")
              .set("created_by_ref", k_identity)
              .str("name", "n")
              .str("schema", "s")
              .str("version", "1")
              .set("extension_types", "[\"new-sdo\"]")
              .set("extension_properties", "[1]"),
          "/extension_properties/0", "must be a string");
  refused(sco("email-message")
              .set("is_multipart", "false")
              .set("cc_refs", std::string("[") + k_file + "]"),
          "/cc_refs/0", "must refer to email-addr");
}

TEST_CASE("parse_stix_content refuses malformed containers", "[stix][envelope]") {
  const std::string a = indicator().json();
  auto r = parse_stix_content(
      "{\"type\":\"bundle\",\"id\":\"bundle--" + std::string(k_uuid) + "\",\"objects\":{}}",
      json_limits{}, 10);
  REQUIRE(!r);
  CHECK(r.error().where == "/objects");
  auto empty_bundle = parse_stix_content(
      "{\"type\":\"bundle\",\"id\":\"bundle--" + std::string(k_uuid) + "\"}", json_limits{}, 10);
  REQUIRE(empty_bundle);
  CHECK(empty_bundle->empty());
  auto scalar_line = parse_stix_content(a + "\n42\n", json_limits{}, 10);
  REQUIRE(!scalar_line);
  CHECK_THAT(scalar_line.error().message, Catch::Contains("line 2: each line must hold one"));
  auto bad_item = parse_stix_content("[" + a + ",\"indicator\"]", json_limits{}, 10);
  REQUIRE(bad_item);
  REQUIRE(bad_item->size() == 2);
  CHECK(!(*bad_item)[1].info);
  CHECK_THAT((*bad_item)[1].problem.message,
             Catch::Contains("must be a JSON object, not a string"));
}

// ---------------------------------------------------------------------------
// MUST rules of STIX 2.1 beyond the required properties. Each case below was
// accepted before these rules were enforced (before: validate() returned the
// object as valid, so every refused(...) line failed on REQUIRE(!r)); the
// accepted(...) lines guard against refusing valid content.

TEST_CASE("ipv4-addr value: an IPv4 address or CIDR block (S 6.8)", "[stix][sco][must]") {
  for (const char* v : {"198.51.100.3", "0.0.0.0", "255.255.255.255", "10.2.4.5/24", "0.0.0.0/0",
                        "203.0.113.7/32"}) {
    INFO(v);
    accepted(sco("ipv4-addr").str("value", v));
  }
  for (const char* v : {"x", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/33", "1.2.3.4/",
                        "01.2.3.4", "1.2.3.4 ", "2001:db8::1", "1.2.3.4/-1"}) {
    INFO(v);
    refused(sco("ipv4-addr").str("value", v), "/value",
            "is not an IPv4 address or CIDR block (STIX 2.1 section 6.8)");
  }
}

TEST_CASE("ipv6-addr value: an IPv6 address or CIDR block (S 6.9)", "[stix][sco][must]") {
  for (const char* v : {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8::/96", "::", "::1",
                        "fe80::", "1:2:3:4:5:6:7:8", "1::8", "::ffff:192.0.2.128", "2001:DB8::A",
                        "::/0", "2001:db8::1/128", "1:2:3:4:5:6::8"}) {
    INFO(v);
    accepted(sco("ipv6-addr").str("value", v));
  }
  for (const char* v : {"x", "198.51.100.3", "2001:db8::/129", "2001:db8:::1", "1::2::3",
                        "12345::", "1:2:3:4:5:6:7:8:9", "g::1", ":1", "1:", "1:2:3:4:5:6:7",
                        "::ffff:192.0.2", "2001:db8::/"}) {
    INFO(v);
    refused(sco("ipv6-addr").str("value", v), "/value",
            "is not an IPv6 address or CIDR block (STIX 2.1 section 6.9)");
  }
}

TEST_CASE("url value: an RFC 3986 URL (S 6.15)", "[stix][sco][must]") {
  for (const char* v :
       {"https://example.com/research/index.html", "http://example.com:8080/a/b?q=1&r=%20x#top",
        "ftp://ftp.example.com/pub/file.txt", "file:///etc/passwd", "http://[2001:db8::1]:443/",
        "mailto:jdoe@example.com", "https://user:pw@example.com/", "http://example.com"}) {
    INFO(v);
    accepted(sco("url").str("value", v));
  }
  for (const char* v : {"x", "example.com/path", "http://exa mple.com/", "http://example.com:80a/",
                        "1http://example.com/", "http://example.com/%zz", "://example.com/",
                        "http://[2001:db8::1/", "http://example.com/<script>"}) {
    INFO(v);
    refused(sco("url").str("value", v), "/value", "is not a URL (RFC 3986; STIX 2.1 section 6.15)");
  }
}

TEST_CASE("email-addr value: an address without a display name (S 6.5)", "[stix][sco][must]") {
  for (const char* v : {"jdoe@example.com", "first.last+tag@mail.example.co.uk",
                        "\\\"john doe\\\"@example.com", "root@localhost"}) {
    INFO(v);
    accepted(sco("email-addr").str("value", v));
  }
  for (const char* v : {"John Doe <jdoe@example.com>", "<jdoe@example.com>", "jdoe", "@example.com",
                        "jdoe@", "j doe@example.com", "jdoe@example.com (John)"}) {
    INFO(v);
    refused(sco("email-addr").str("value", v), "/value",
            "is not an email address without a display name (STIX 2.1 section 6.5)");
  }
}

TEST_CASE("windows-registry-key key: starts with a full hive name (S 6.17)", "[stix][sco][must]") {
  for (const char* hive : {"HKEY_CLASSES_ROOT", "HKEY_CURRENT_CONFIG", "HKEY_CURRENT_USER",
                           "HKEY_LOCAL_MACHINE", "HKEY_USERS", "HKEY_PERFORMANCE_DATA",
                           "HKEY_DYN_DATA", "hkey_local_machine", "Hkey_Current_User"}) {
    INFO(hive);
    accepted(sco("windows-registry-key").str("key", std::string(hive) + "\\\\Software\\\\Acme"));
    accepted(sco("windows-registry-key").str("key", hive));
  }
  for (const char* key : {"HKLM\\\\Software", "hkcu\\\\Software", "Software\\\\Microsoft",
                          "HKEY_LOCAL_MACHINEX\\\\a", "HKEY_LOCAL\\\\a", "\\\\HKEY_USERS\\\\a"}) {
    INFO(key);
    refused(sco("windows-registry-key").str("key", key), "/key",
            "must start with the full hive name");
  }
}

TEST_CASE("software cpe: a CPE 2.3 formatted string (S 6.14)", "[stix][sco][must]") {
  auto sw = [](const std::string& cpe) { return sco("software").str("name", "w").str("cpe", cpe); };
  for (const char* v :
       {"cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*",
        "cpe:2.3:o:microsoft:windows_10:1607:*:*:*:*:*:x64:*",
        "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*",
        "cpe:2.3:h:cisco:asa_5505:-:*:*:*:*:*:*:*", "cpe:2.3:a:acme:foo\\\\:bar:1.0:*:*:*:*:*:*:*",
        "cpe:2.3:a:acme:??ol*:1.*:*:*:*:*:*:*:*",
        "cpe:2.3:a:acme:foo\\\\-bar\\\\!:1.0:*:*:*:*:*:*:*"}) {
    INFO(v);
    accepted(sw(v));
  }
  for (const char* v :
       {"cpe:/a:microsoft:word:2000", "cpe:2.3:a:microsoft:word",
        "cpe:2.3:x:microsoft:word:2000:*:*:*:*:*:*:*",
        "cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*:*", "microsoft word",
        "cpe:2.3:a:micro soft:word:2000:*:*:*:*:*:*:*", "cpe:2.3:a::word:2000:*:*:*:*:*:*:*",
        "cpe:2.2:a:microsoft:word:2000:*:*:*:*:*:*:*", "cpe:2.3:a:acme:to*ol:1:*:*:*:*:*:*:*"}) {
    INFO(v);
    refused(sw(v), "/cpe", "is not a CPE 2.3 formatted string (STIX 2.1 section 6.14)");
  }
}

TEST_CASE("*_enc: an IANA character set name (S 3.9.1)", "[stix][sco][must]") {
  for (const char* v : {"utf-8", "UTF-8", "ISO-8859-1", "iso-8859-1", "windows-1252", "US-ASCII",
                        "UTF-16LE", "Shift_JIS", "EUC-JP", "KOI8-R", "GB2312", "Big5", "latin1",
                        "csUTF8", "ISO_8859-1:1987", "UTF-32"}) {
    INFO(v);
    accepted(sco("file").str("name", "a").str("name_enc", v));
    accepted(sco("directory").str("path", "/a").str("path_enc", v));
  }
  for (const char* v : {"klingon", "utf 8", "", "UTF-9", "windows-9999"}) {
    INFO(v);
    refused(sco("file").str("name", "a").str("name_enc", v), "/name_enc",
            "is not an IANA character set name (STIX 2.1 section 3.9.1)");
  }
  refused(sco("file").str("name", "a").set("name_enc", "8"), "/name_enc",
          "is not an IANA character set name");
  // Inside extensions too (custom properties follow the same rule).
  refused(sco("file")
              .str("name", "a")
              .set("extensions", "{\"x-acme-ext\":{\"label_enc\":\"nonsense\"}}"),
          "/extensions/x-acme-ext/label_enc", "is not an IANA character set name");
}

TEST_CASE("artifact: payload_bin or url must be present (S 6.1)", "[stix][sco][must]") {
  accepted(sco("artifact").str("payload_bin", "aGVsbG8="));
  accepted(sco("artifact")
               .str("url", "https://example.com/a.bin")
               .set("hashes", "{\"MD5\":\"" + std::string(32, 'a') + "\"}"));
  refused(sco("artifact").str("mime_type", "text/plain"), "",
          "an artifact needs payload_bin or url (STIX 2.1 section 6.1)");
}

TEST_CASE("timestamps inside extensions and observed-data objects are checked (S 2.16)",
          "[stix][must]") {
  auto pe = [](const std::string& ts) {
    return sco("file")
        .str("name", "a.exe")
        .set("extensions",
             "{\"windows-pebinary-ext\":{\"pe_type\":\"exe\",\"time_date_stamp\":\"" + ts + "\"}}");
  };
  accepted(pe("2016-01-20T14:11:25.55Z"));
  refused(pe("2016-13-20T14:11:25Z"), "/extensions/windows-pebinary-ext/time_date_stamp",
          "not a valid STIX timestamp");
  refused(pe("yesterday"), "/extensions/windows-pebinary-ext/time_date_stamp",
          "not a valid STIX timestamp");
  auto x509 = [](const std::string& ts) {
    return sco("x509-certificate")
        .str("serial_number", "36:f7")
        .set("x509_v3_extensions", "{\"private_key_usage_period_not_before\":\"" + ts +
                                       "\",\"private_key_usage_period_not_after\":"
                                       "\"2030-01-01T00:00:00Z\"}");
  };
  accepted(x509("2016-03-12T12:00:00Z"));
  refused(x509("2016-03-12"), "/x509_v3_extensions/private_key_usage_period_not_before",
          "not a valid STIX timestamp");
  auto od = [](const std::string& objects) {
    return sdo("observed-data")
        .str("first_observed", "2015-12-21T19:00:00Z")
        .str("last_observed", "2015-12-21T19:00:00Z")
        .set("number_observed", "1")
        .set("objects", objects);
  };
  accepted(od("{\"0\":{\"type\":\"file\",\"name\":\"a\",\"ctime\":\"2015-12-21T19:00:00Z\"}}"));
  refused(od("{\"0\":{\"type\":\"file\",\"name\":\"a\",\"ctime\":\"2015-12-21\"}}"),
          "/objects/0/ctime", "not a valid STIX timestamp");
  refused(od("{\"0\":{\"type\":\"file\",\"name\":\"a\",\"extensions\":{\"windows-pebinary-ext\":"
             "{\"pe_type\":\"dll\",\"time_date_stamp\":\"2015-02-30T00:00:00Z\"}}}}"),
          "/objects/0/extensions/windows-pebinary-ext/time_date_stamp",
          "not a valid STIX timestamp");
}

TEST_CASE("hashes: keys have at least 3 characters (S 2.7)", "[stix][common][must]") {
  accepted(sco("file").set("hashes", "{\"x_h\":\"abc\"}"));
  accepted(sco("file").set("hashes", "{\"MD5\":\"" + std::string(32, 'a') + "\"}"));
  refused(sco("file").set("hashes", "{\"ab\":\"abc\"}"), "/hashes/ab",
          "is not an allowed hash name (3-250 characters");
  refused(sco("file").set("hashes", "{\"x\":\"abc\"}"), "/hashes/x", "3-250 characters");
}

TEST_CASE("reserved property names are refused (S 3.8)", "[stix][common][must]") {
  for (const char* name : {"severity", "username", "phone_number", "action"}) {
    INFO(name);
    refused(indicator().str(name, "x"), std::string("/") + name,
            "is a reserved property name (STIX 2.1 section 3.8)");
  }
  refused(sdo("course-of-action").str("name", "c").str("action", "x"), "/action", "reserved");
  const std::string key = "\"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e\"";
  refused(
      indicator().set("extensions",
                      "{" + key + ":{\"extension_type\":\"property-extension\",\"severity\":1}}"),
      "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/severity",
      "reserved");
  accepted(indicator().str("x_acme_severity", "high").str("actions", "x"));
}

TEST_CASE("property names start with a letter, also inside extensions (S 3.1)",
          "[stix][common][must]") {
  refused(indicator().str("_private", "x"), "/_private",
          "is not an allowed property name (3-250 characters a-z, 0-9 and '_', starting with a "
          "letter; STIX 2.1 section 3.1)");
  refused(indicator().str("1st_seen", "x"), "/1st_seen", "starting with a letter");
  accepted(indicator().str("x_1", "x"));
  const std::string key = "\"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e\"";
  const std::string path = "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e";
  auto ext = [&](const std::string& member) {
    return indicator().set(
        "extensions", "{" + key + ":{\"extension_type\":\"property-extension\"," + member + "}}");
  };
  accepted(ext("\"rank_2\":5"));
  refused(ext("\"Rank\":5"), path + "/Rank", "is not an allowed property name");
  refused(ext("\"rk\":5"), path + "/rk", "is not an allowed property name");
  refused(ext("\"_rank\":5"), path + "/_rank", "is not an allowed property name");
  refused(ext("\"" + std::string(251, 'r') + "\":5"), path + "/" + std::string(251, 'r'),
          "is not an allowed property name");
  // Dictionary keys are data, not property names.
  accepted(sco("email-message")
               .set("is_multipart", "false")
               .set("additional_header_fields", "{\"X-Mailer\":[\"a\"]}"));
}

TEST_CASE("custom objects need created and modified unless they are new SCOs (S 11.2, 7.3)",
          "[stix][common][must]") {
  refused(sco("x-acme-gadget").drop("spec_version"), "/created",
          "missing; a custom object requires it");
  refused(sdo("x-acme-gadget").drop("modified"), "/modified",
          "missing; a custom object requires it");
  refused(sdo("x-acme-gadget").drop("created").drop("modified").str("spec_version", "2.1"),
          "/created", "missing");
  accepted(sdo("x-acme-gadget"));
  // A new SCO defined through an extension-definition has no created/modified.
  accepted(
      sco("x-acme-gadget")
          .drop("spec_version")
          .set(
              "extensions",
              "{\"extension-definition--88b426e6-6704-4b7e-b564-bff6375a9077\":{\"extension_type\":"
              "\"new-sco\"}}"));
}

TEST_CASE("external_references: cve and capec ids have their form (S 2.5)",
          "[stix][common][must]") {
  auto ref = [](const std::string& source, const std::string& id) {
    return indicator().set("external_references",
                           "[{\"source_name\":\"" + source + "\",\"external_id\":\"" + id + "\"}]");
  };
  accepted(ref("cve", "CVE-2016-1234"));
  accepted(ref("cve", "CVE-2021-44228"));
  accepted(ref("cve", "CVE-2014-0160"));
  accepted(ref("capec", "CAPEC-163"));
  accepted(ref("mitre-attack", "T1566.002"));
  accepted(ref("ACME Bugzilla", "1370"));
  accepted(indicator().set("external_references",
                           "[{\"source_name\":\"cve\",\"url\":\"https://cve.org/\"}]"));
  for (const char* id : {"2016-1234", "CVE-16-1234", "cve-2016-1234", "CVE-2016-123",
                         "CVE-2016-01234", "CVE-2016-1234 "}) {
    INFO(id);
    refused(ref("cve", id), "/external_references/0/external_id",
            "is not a CVE id ('CVE-YYYY-NNNN'; STIX 2.1 section 2.5)");
  }
  for (const char* id : {"163", "CAPEC-", "capec-163", "CAPEC-16x"}) {
    INFO(id);
    refused(ref("capec", id), "/external_references/0/external_id",
            "is not a CAPEC id ('CAPEC-N'; STIX 2.1 section 2.5)");
  }
  refused(ref("CVE", "CVE-2016-1234"), "/external_references/0/source_name",
          "'CVE' must be written 'cve'");
  refused(ref("Capec", "CAPEC-163"), "/external_references/0/source_name",
          "must be written 'capec'");
}

TEST_CASE("language-content contents: keys are RFC 5646 language tags (S 7.1)",
          "[stix][meta][must]") {
  auto lc = [](const std::string& tag) {
    return sdo("language-content")
        .set("object_ref", k_malware)
        .set("contents", "{\"" + tag + "\":{\"name\":\"x\"}}");
  };
  for (const char* tag : {"en", "de", "de-DE", "zh-Hant-TW", "es-419", "sr-Latn-RS", "fil",
                          "en-US-x-twain", "x-klingon", "de-CH-1901", "zh-yue-HK", "i-klingon",
                          "EN-us", "sl-rozaj-biske", "en-a-bbb-x-a-ccc"}) {
    INFO(tag);
    accepted(lc(tag));
  }
  for (const char* tag : {"english", "de_DE", "e", "en-", "-en", "en--US", "12", "en-US-",
                          "de-DE-x", "en-a", "toolonglanguage", "en-123456789"}) {
    INFO(tag);
    refused(lc(tag), std::string("/contents/") + tag,
            "is not an RFC 5646 language tag (STIX 2.1 section 7.1)");
  }
}

namespace {

std::string upper(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// The spec's TLP 1.0 objects (S 7.2.1.4) and the TC's TLP 2.0 objects.
object exact_tlp1(const std::string& id, const std::string& level) {
  return object()
      .str("type", "marking-definition")
      .str("spec_version", "2.1")
      .str("id", id)
      .str("created", "2017-01-20T00:00:00.000Z")
      .str("definition_type", "tlp")
      .str("name", "TLP:" + upper(level))
      .set("definition", "{\"tlp\":\"" + level + "\"}");
}

object exact_tlp2(const std::string& id, const std::string& level) {
  return object()
      .str("type", "marking-definition")
      .str("spec_version", "2.1")
      .str("id", id)
      .str("created", "2022-10-01T00:00:00.000Z")
      .str("name", "TLP:" + upper(level))
      .set("extensions", "{\"" + std::string(k_tlp2_ext) +
                             "\":{\"extension_type\":\"property-extension\",\"tlp_2_0\":\"" +
                             level + "\"}}");
}

}  // namespace

TEST_CASE("TLP marking-definitions are exactly the published objects (S 7.2.1.4)",
          "[stix][marking][must]") {
  const std::vector<std::pair<std::string, std::string>> tlp1{
      {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"},
      {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"},
      {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"},
      {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"}};
  const std::vector<std::pair<std::string, std::string>> tlp2{
      {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"},
      {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"},
      {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"},
      {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"},
      {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"}};
  const std::string why = "must be exactly the published TLP marking-definition";
  for (const auto& [id, level] : tlp1) {
    INFO(id);
    accepted(exact_tlp1(id, level));
    // Member order and white space do not matter; values do.
    auto doc = parse_json("{ \"definition\" : {\"tlp\": \"" + level +
                          "\"}, \"name\": \"TLP:" + upper(level) + "\", \"id\": \"" + id +
                          "\", \"type\": \"marking-definition\", \"definition_type\": \"tlp\", "
                          "\"created\": \"2017-01-20T00:00:00.000Z\", \"spec_version\": \"2.1\"}");
    REQUIRE(doc);
    CHECK(validate_stix_object(doc->root()));
    refused(exact_tlp1(id, level).set("granular_markings",
                                      "[{\"selectors\":[\"name\"],\"lang\":\"en\"}]"),
            "/granular_markings", why);
    refused(exact_tlp1(id, level).str("description", "mine"), "/description", why);
    // name is optional: the TLP 1.0 objects as STIX 2.0 published them have
    // none, and independent validators accept them (this was refused before).
    accepted(exact_tlp1(id, level).drop("name"));
    refused(exact_tlp1(id, level).str("name", "TLP:" + level), "/name", why);
    refused(exact_tlp1(id, level).str("created", "2017-01-20T00:00:00.001Z"), "/created", why);
    refused(exact_tlp1(id, level).set("created_by_ref", k_identity), "/created_by_ref", why);
  }
  for (const auto& [id, level] : tlp2) {
    INFO(id);
    accepted(exact_tlp2(id, level));
    refused(exact_tlp2(id, level).set("granular_markings",
                                      "[{\"selectors\":[\"name\"],\"lang\":\"en\"}]"),
            "/granular_markings", why);
    refused(exact_tlp2(id, level).str("created", "2017-01-20T00:00:00.000Z"), "/created", why);
    refused(exact_tlp2(id, level).str("name", "TLP"), "/name", why);
    refused(exact_tlp2(id, level).drop("name"), "/name", why);
    refused(
        exact_tlp2(id, level).set("extensions", "{\"" + std::string(k_tlp2_ext) +
                                                    "\":{\"extension_type\":\"property-extension\","
                                                    "\"tlp_2_0\":\"" +
                                                    level + "\",\"x_note\":1}}"),
        "/extensions", why);
  }
}

TEST_CASE("observed-data object_refs: SCOs and SROs, at least one SCO (S 4.14)",
          "[stix][sdo][must]") {
  auto od = [](const std::string& refs) {
    return sdo("observed-data")
        .str("first_observed", "2015-12-21T19:00:00Z")
        .str("last_observed", "2015-12-21T19:00:00Z")
        .set("number_observed", "1")
        .set("object_refs", "[" + refs + "]");
  };
  accepted(od(k_ipv4));
  accepted(od(std::string(k_file) + "," + k_ipv4 + "," + k_relationship));
  // A type this server does not know may be a custom SCO.
  accepted(od("\"fooz--e2c4958a-f74e-42a0-b9d6-55f744adb228\""));
  refused(od(k_indicator), "/object_refs/0",
          "must refer to SCOs or SROs, not indicator (STIX 2.1 section 4.14)");
  refused(od(std::string(k_file) + "," + k_malware), "/object_refs/1", "not malware");
  refused(od(std::string(k_file) + "," + k_tlp_green), "/object_refs/1", "not marking-definition");
  refused(od(k_relationship), "/object_refs",
          "must contain at least one SCO reference (STIX 2.1 section 4.14)");
}

TEST_CASE("lang and granular markings' lang are RFC 5646 language tags (S 3.2, 7.2.3)",
          "[stix][common][must]") {
  // before: any string was accepted as lang.
  for (const char* tag : {"en", "de-DE", "zh-Hant-TW", "es-419"}) {
    INFO(tag);
    accepted(indicator().str("lang", tag));
    accepted(indicator()
                 .str("name", "n")
                 .set("granular_markings",
                      std::string("[{\"selectors\":[\"name\"],\"lang\":\"") + tag + "\"}]"));
  }
  refused(indicator().str("lang", "English"), "/lang",
          "is not an RFC 5646 language tag (STIX 2.1 section 3.2)");
  refused(indicator().str("lang", "en_US"), "/lang", "is not an RFC 5646 language tag");
  refused(indicator().set("granular_markings", "[{\"selectors\":[\"name\"],\"lang\":\"de_DE\"}]"),
          "/granular_markings/0/lang", "is not an RFC 5646 language tag (STIX 2.1 section 7.2.3)");
}

TEST_CASE("external_references hashes keys come from hash-algorithm-ov (S 2.5.1)",
          "[stix][common][must]") {
  // before: any hash name allowed for hashes was accepted here too.
  auto ref = [](const std::string& hashes) {
    return indicator().set("external_references",
                           "[{\"source_name\":\"acme\",\"url\":\"https://example.com/r.pdf\","
                           "\"hashes\":" +
                               hashes + "}]");
  };
  accepted(ref("{\"SHA-256\":\"" + std::string(64, 'a') + "\"}"));
  accepted(ref("{\"MD5\":\"" + std::string(32, 'a') + "\",\"SSDEEP\":\"3:a:b\",\"TLSH\":\"" +
               std::string(70, 'a') + "\",\"SHA3-512\":\"" + std::string(128, 'a') + "\"}"));
  refused(ref("{\"x_acme_hash\":\"abc\"}"), "/external_references/0/hashes/x_acme_hash",
          "is not a hash-algorithm-ov name (STIX 2.1 section 2.5.1)");
  refused(ref("{\"SHA-224\":\"" + std::string(56, 'a') + "\"}"),
          "/external_references/0/hashes/SHA-224", "is not a hash-algorithm-ov name");
  // Other hashes properties may use any valid hash name (S 2.7).
  accepted(sco("file").set("hashes", "{\"x_acme_hash\":\"abc\"}"));
}

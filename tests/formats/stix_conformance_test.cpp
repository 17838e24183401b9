// Verdicts of an independent STIX 2.1 validator's test cases, replayed on
// Cairn's validator: objects written for Cairn after what each case tests,
// grouped by rule. Where the independent validator only warns (a SHOULD of
// the spec), Cairn accepts; where it finds a MUST broken, Cairn refuses and
// names the property.

#include <catch2/catch.hpp>
#include <string>

#include "formats/stix.hpp"
#include "formats/stix_pattern.hpp"

using namespace cairn::formats;

namespace {

cairn::result<stix_object_info> check(const std::string& text) {
  auto doc = parse_json(text);
  INFO(text);
  REQUIRE(doc);
  return validate_stix_object(doc->root());
}

void accepts(const std::string& text) {
  auto r = check(text);
  INFO(text);
  INFO((r ? std::string() : r.error().to_string()));
  CHECK(r);
}

// Refused, with the JSON pointer of the offending property.
void refuses(const std::string& text, const std::string& where) {
  auto r = check(text);
  INFO(text);
  REQUIRE(!r);
  INFO(r.error().to_string());
  CHECK(r.error().where == where);
}

// Replaces the first occurrence of `from` (which must be there).
std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

const std::string k_observed = R"({
  "type": "observed-data", "spec_version": "2.1",
  "id": "observed-data--4f1a2c7e-3d38-4a4e-9a5d-0e7f1b2c3d4e",
  "created": "2020-03-01T10:00:00.000Z", "modified": "2020-03-01T10:00:00.000Z",
  "first_observed": "2020-02-28T08:00:00Z", "last_observed": "2020-02-28T09:00:00Z",
  "number_observed": 3,
  "objects": {
    "0": {"type": "file", "name": "bundle.tar", "hashes": {"MD5": "0123456789ABCDEF0123456789ABCDEF"},
          "extensions": {"archive-ext": {"contains_refs": ["1"]}}},
    "1": {"type": "file", "name": "inner.so"}
  },
  "granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                         "selectors": ["objects.0.name"]}]
})";

}  // namespace

// ---------------------------------------------------------------------------
// S 6.8, 6.9: ipv4-addr / ipv6-addr value is an address or CIDR block.

TEST_CASE("conformance: ip address values and CIDR prefixes", "[stix][conformance]") {
  const std::string v4 = R"({"type": "ipv4-addr", "spec_version": "2.1",
    "id": "ipv4-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", "value": "VALUE"})";
  for (const char* ok : {"203.0.113.9", "10.1.0.0/0", "10.1.0.0/7", "10.1.0.7/32"}) {
    accepts(with(v4, "VALUE", ok));
  }
  for (const char* no :
       {"bar", "300.300.300.300", "10.1.0.0/", "10.1.0.0/40", "10.1.0.0/x", "10.1.0.0/08"}) {
    refuses(with(v4, "VALUE", no), "/value");
  }
  const std::string v6 = R"({"type": "ipv6-addr", "spec_version": "2.1",
    "id": "ipv6-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", "value": "VALUE"})";
  for (const char* ok :
       {"2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329/0",
        "2001:0db8:0000:0000:0000:ff00:0042:8329/9", "2001:0db8:0000:0000:0000:ff00:0042:8329/128",
        "2001:db8::/32", "::1", "::ffff:192.0.2.1"}) {
    accepts(with(v6, "VALUE", ok));
  }
  for (const char* no :
       {"bar", "2001:0db8:0000:0000:0000:ff00:0042:8329/",
        "2001:0db8:0000:0000:0000:ff00:0042:8329/130", "2001:0db8:0000:0000:0000:ff00:0042:8329/x",
        "2001:0db8:0000:0000:0000:ff00:0042:8329/00",
        "2001:0db8:0000:0000:0000:ff00:0042:8329/04"}) {
    refuses(with(v6, "VALUE", no), "/value");
  }
}

// ---------------------------------------------------------------------------
// S 4.14 observed-data, with the deprecated objects dictionary.

TEST_CASE("conformance: observed-data with objects", "[stix][conformance]") {
  accepts(k_observed);
  // S 4.14: number_observed is 1 to 999,999,999.
  refuses(with(k_observed, "\"number_observed\": 3", "\"number_observed\": -2"),
          "/number_observed");
  // Custom properties with dictionary values of any key length (2.1 has no
  // minimum dictionary key length).
  accepts(with(
      k_observed, "\"name\": \"inner.so\"",
      R"("name": "inner.so", "x_acme_dict": {"averyveryverylongdictionarykeyname": {"k": "v"}})"));
  // A custom hash name in a pebinary header: only a SHOULD (hash-algorithm-ov).
  accepts(with(
      k_observed, R"("archive-ext": {"contains_refs": ["1"]})",
      R"("archive-ext": {"contains_refs": ["1"]}, "windows-pebinary-ext": {"pe_type": "dll", "optional_header": {"hashes": {"x_acme": "00FF00FF00FF00FF"}}})"));
}

// ---------------------------------------------------------------------------
// S 7.2.3: granular markings.

TEST_CASE("conformance: granular marking selectors resolve in the object", "[stix][conformance]") {
  accepts(with(k_observed, "objects.0.name", "objects.0.extensions.archive-ext.contains_refs.[0]"));
  accepts(with(k_observed, "objects.0.name", "granular_markings.[0].selectors"));
  accepts(with(k_observed, "objects.0.name", "id"));
  // S 7.2.3.1: a selector MUST refer to a property or list item present in
  // the object. Before: any string list was accepted.
  refuses(with(k_observed, "objects.0.name", "nosuchproperty"), "/granular_markings/0/selectors/0");
  // An index past the end of the list.
  refuses(with(k_observed, "objects.0.name", "objects.0.extensions.archive-ext.contains_refs.[4]"),
          "/granular_markings/0/selectors/0");
  // An index into something that is not a list.
  refuses(with(k_observed, "objects.0.name", "objects.[0].extensions"),
          "/granular_markings/0/selectors/0");
  // A property of a list item that is a string.
  refuses(
      with(k_observed, "objects.0.name", "objects.0.extensions.archive-ext.contains_refs.[0].type"),
      "/granular_markings/0/selectors/0");
  refuses(with(k_observed, "objects.0.name", ""), "/granular_markings/0/selectors/0");
  refuses(with(k_observed, "objects.0.name", "objects..0"), "/granular_markings/0/selectors/0");
}

// ---------------------------------------------------------------------------
// S 7.2.1: marking definitions.

TEST_CASE("conformance: marking definitions", "[stix][conformance]") {
  const std::string statement = R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e",
    "created": "2019-05-05T00:00:00.000Z", "definition_type": "statement",
    "definition": {"statement": "Copyright 2019, Example Corp"}})";
  accepts(statement);
  // Marking an object's own properties with its own id is circular: before,
  // the self-reference in granular_markings was accepted.
  refuses(
      with(
          statement, "\"definition_type\"",
          R"("granular_markings": [{"marking_ref": "marking-definition--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e", "selectors": ["definition"]}], "definition_type")"),
      "/granular_markings/0/marking_ref");
  refuses(
      with(
          statement, "\"definition_type\"",
          R"("object_marking_refs": ["marking-definition--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e"], "definition_type")"),
      "/object_marking_refs/0");
  refuses(
      with(
          statement, "\"definition_type\"",
          R"("granular_markings": [{"marking_ref": "indicator--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e", "selectors": ["definition"]}], "definition_type")"),
      "/granular_markings/0/marking_ref");
  refuses(
      with(
          statement, "\"definition_type\"",
          R"("granular_markings": [{"marking_ref": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "selectors": ["[0]"]}], "definition_type")"),
      "/granular_markings/0/selectors/0");
  accepts(with(
      statement, "\"definition_type\"",
      R"("granular_markings": [{"marking_ref": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "selectors": ["definition.statement"]}], "definition_type")"));
  // Without extensions, definition_type and definition are required.
  refuses(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e",
    "created": "2019-05-05T00:00:00.000Z"})",
          "/definition_type");
  // With a property extension instead, they may go.
  accepts(R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--5a1c3e7b-9d2f-4b6a-8c0e-1f2a3b4c5d6e",
    "created": "2019-05-05T00:00:00.000Z",
    "extensions": {"extension-definition--1d7b3e0a-6c9f-4f4e-9a52-33c0b7d0e5aa":
      {"extension_type": "property-extension", "handling_note": "do not forward"}}})");
}

TEST_CASE("conformance: TLP 1.0 marking definitions", "[stix][conformance]") {
  const std::string green = R"({"type": "marking-definition", "spec_version": "2.1",
    "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
    "definition": {"tlp": "green"}})";
  // The TLP:GREEN object without its optional name (as STIX 2.0 published
  // it): the independent validator accepts it. Before: refused with
  // "/name: missing".
  accepts(green);
  accepts(with(green, "\"definition_type\"", "\"name\": \"TLP:GREEN\", \"definition_type\""));
  // A name other than the published one is still refused.
  refuses(with(green, "\"definition_type\"", "\"name\": \"TLP:RED\", \"definition_type\""),
          "/name");
  refuses(with(green, "\"green\"", "21"), "/definition/tlp");
  refuses(with(green, "\"green\"", "\"red\""), "/id");
}

// ---------------------------------------------------------------------------
// S 7.3 extension definitions and S 11.1 extensions.

TEST_CASE("conformance: extension definitions", "[stix][conformance]") {
  const std::string def = R"({"type": "extension-definition", "spec_version": "2.1",
    "id": "extension-definition--7c5e0c3a-2b1f-4d8e-9f6a-5b4c3d2e1f0a",
    "created_by_ref": "identity--2b1f7c5e-0c3a-4d8e-9f6a-5b4c3d2e1f0a",
    "created": "2021-06-01T12:00:00.123456Z", "modified": "2021-06-01T12:00:00.123456Z",
    "name": "Acme widget", "description": "A new SDO type, acme-widget",
    "schema": "https://example.com/schemas/acme-widget.json", "version": "1.0.0",
    "extension_types": ["new-sdo"]})";
  accepts(def);
  refuses(with(def, "\"new-sdo\"", "\"new-widget\""), "/extension_types/0");
  // Description missing is only a SHOULD.
  accepts(with(def, "\"description\": \"A new SDO type, acme-widget\",", ""));
  // S 7.3: extension_properties only with toplevel-property-extension.
  // Before: accepted alongside new-sdo alone.
  refuses(with(def, "\"extension_types\"",
               "\"extension_properties\": [\"x_acme_level\"], \"extension_types\""),
          "/extension_properties");
  accepts(with(with(def, "\"new-sdo\"", "\"toplevel-property-extension\""), "\"extension_types\"",
               "\"extension_properties\": [\"x_acme_level\"], \"extension_types\""));
  // A toplevel-property-extension without extension_properties: a SHOULD.
  accepts(with(def, "\"new-sdo\"", "\"toplevel-property-extension\""));

  const std::string sdo = R"({"type": "acme-widget", "spec_version": "2.1",
    "id": "acme-widget--9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    "created": "2021-06-02T12:00:00.123456Z", "modified": "2021-06-02T12:00:00.123456Z",
    "name": "widget one", "widget_color": "blue", "widget_size": 4,
    "extensions": {"extension-definition--7c5e0c3a-2b1f-4d8e-9f6a-5b4c3d2e1f0a":
      {"extension_type": "new-sdo"}}})";
  accepts(sdo);
  refuses(with(sdo, "{\"extension_type\": \"new-sdo\"}", "{\"extension_type\": [\"new-sdo\"]}"),
          "/extensions/extension-definition--7c5e0c3a-2b1f-4d8e-9f6a-5b4c3d2e1f0a/extension_type");
  // A toplevel-property-extension's properties sit on the object itself.
  accepts(R"({"type": "indicator", "spec_version": "2.1",
    "id": "indicator--0d3c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a",
    "created": "2021-06-02T12:00:00.000Z", "modified": "2021-06-02T12:00:00.000Z",
    "pattern": "[url:value = 'http://example.com/x']", "pattern_type": "stix",
    "valid_from": "2021-06-02T12:00:00Z", "x_acme_level": 3, "acme_owner": "blue team",
    "extensions": {"extension-definition--7c5e0c3a-2b1f-4d8e-9f6a-5b4c3d2e1f0a":
      {"extension_type": "toplevel-property-extension"}}})");
}

// ---------------------------------------------------------------------------
// S 11.2 custom objects.

TEST_CASE("conformance: custom objects", "[stix][conformance]") {
  const std::string custom = R"({"type": "x-acme-widget", "spec_version": "2.1",
    "id": "x-acme-widget--3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9",
    "created": "2018-08-01T00:00:00.000Z", "modified": "2018-08-01T00:00:00.000Z",
    "widget_count": 14, "widget_note": "hi"})";
  accepts(custom);
  // A type without the x- prefix is only a SHOULD.
  accepts(with(with(custom, "\"x-acme-widget\"", "\"acme-widget\""), "x-acme-widget--",
               "acme-widget--"));
  refuses(with(custom, "\"created\": \"2018-08-01T00:00:00.000Z\",", ""), "/created");
  refuses(with(custom, "\"modified\": \"2018-08-01T00:00:00.000Z\",", ""), "/modified");
  refuses(with(with(custom, "\"x-acme-widget\"", "\"acme_widget\""), "x-acme-widget--",
               "acme_widget--"),
          "/type");
}

// ---------------------------------------------------------------------------
// S 7.1 language content.

TEST_CASE("conformance: language content", "[stix][conformance]") {
  const std::string lc = R"({"type": "language-content", "spec_version": "2.1",
    "id": "language-content--6b5a4f3e-2d1c-4b0a-9f8e-7d6c5b4a3f2e",
    "created": "2019-02-08T21:31:22.007Z", "modified": "2019-02-08T21:31:22.007Z",
    "object_ref": "identity--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "object_modified": "2018-08-08T15:50:10.983Z",
    "contents": {"fr": {"description": "société"}}})";
  accepts(lc);
  refuses(with(lc, "\"fr\"", "\"français\""), "/contents/français");
  // S 7.1: the keys inside a language are the translated properties' names.
  // Before: any key was accepted.
  refuses(with(lc, "\"description\"", "\"d\""), "/contents/fr/d");
  refuses(with(lc, "2019-02-08T21:31:22.007Z", "2019-02-30T21:31:22.007Z"), "/created");
  // created later than modified.
  refuses(with(lc, "2019-02-08T21:31:22.007Z", "2019-02-08T21:31:22.007123Z"), "/modified");
}

// S 4.14: the entries of the deprecated objects dictionary are SCOs, and
// their references name keys of the dictionary. Before: any entry, and any
// reference, was accepted.
TEST_CASE("conformance: observed-data objects entries", "[stix][conformance]") {
  const std::string no_type = R"({"name": "inner.so"})";
  refuses(with(k_observed, R"({"type": "file", "name": "inner.so"})", no_type), "/objects/1/type");
  for (const char* bad : {"x--widget", "WIDGET", "w"}) {
    refuses(with(k_observed, R"("type": "file", "name": "inner.so")",
                 std::string("\"type\": \"") + bad + "\", \"name\": \"inner.so\""),
            "/objects/1/type");
  }
  refuses(with(k_observed, R"({"type": "file", "name": "inner.so"})", "\"inner.so\""),
          "/objects/1");
  // A custom SCO type is fine.
  accepts(
      with(k_observed, R"("1": {)", R"("2": {"type": "x-acme-gadget", "gadget": "g"}, "1": {)"));
  refuses(with(k_observed, R"("contains_refs": ["1"])", R"("contains_refs": ["7"])"),
          "/objects/0/extensions/archive-ext/contains_refs/0");
  refuses(with(k_observed, R"("name": "inner.so")",
               R"("name": "inner.so", "parent_directory_ref": "5")"),
          "/objects/1/parent_directory_ref");
  accepts(with(with(k_observed, R"("name": "inner.so")",
                    R"("name": "inner.so", "parent_directory_ref": "2")"),
               R"("1": {)", R"("2": {"type": "directory", "path": "/usr/lib"}, "1": {)"));
  refuses(R"({"type": "observed-data", "spec_version": "2.1",
    "id": "observed-data--4f1a2c7e-3d38-4a4e-9a5d-0e7f1b2c3d4e",
    "created": "2020-03-01T10:00:00.000Z", "modified": "2020-03-01T10:00:00.000Z",
    "first_observed": "2020-02-28T08:00:00Z", "last_observed": "2020-02-28T09:00:00Z",
    "number_observed": 3, "objects": {}})",
          "/objects");
}

// ---------------------------------------------------------------------------
// S 6.12 network traffic.

TEST_CASE("conformance: network traffic", "[stix][conformance]") {
  const std::string nt = R"({"type": "network-traffic", "spec_version": "2.1",
    "id": "network-traffic--5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
    "src_ref": "ipv4-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10",
    "src_port": 51234, "dst_port": 443, "protocols": ["ipv4", "tcp", "tls"]})";
  accepts(nt);
  refuses(with(nt, "\"src_ref\": \"ipv4-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10\",", ""), "");
  refuses(with(nt, "\"protocols\"", "\"x_protocols\""), "/protocols");
  refuses(with(nt, "51234", "70000"), "/src_port");
  // A missing port or an unknown protocol name is a SHOULD.
  accepts(with(nt, "\"dst_port\": 443,", ""));
  accepts(with(nt, "\"tls\"", "\"x_acme_proto\""));
  refuses(with(nt, "\"protocols\"",
               "\"is_active\": true, \"end\": \"2020-01-01T00:00:00Z\", \"protocols\""),
          "/end");
  accepts(with(nt, "\"protocols\"", "\"is_active\": true, \"protocols\""));
  // S 6.12: end MUST be greater than or equal to start. Before: an end
  // before start was accepted.
  const std::string times =
      "\"start\": \"2020-01-01T10:00:00.000Z\", \"end\": \"END\", \"protocols\"";
  accepts(with(nt, "\"protocols\"", with(times, "END", "2020-01-01T10:00:00.000Z")));
  accepts(with(nt, "\"protocols\"", with(times, "END", "2020-01-02T10:00:00.000Z")));
  refuses(with(nt, "\"protocols\"", with(times, "END", "2019-12-31T10:00:00.000Z")), "/end");
}

// S 4.14: each entry of the deprecated objects dictionary follows the rules
// of its SCO type (S 6), its references naming keys of the dictionary.
// Before: apart from timestamps, the entries were not checked at all.
TEST_CASE("conformance: observed-data objects entries follow their SCO rules",
          "[stix][conformance]") {
  auto add = [](const std::string& entry) {
    return with(k_observed, R"("1": {)", "\"2\": " + entry + ", \"1\": {");
  };
  // S 6.17 registry key hive.
  refuses(add(R"({"type": "windows-registry-key", "key": "HKCU\\Software\\Acme"})"),
          "/objects/2/key");
  accepts(add(R"({"type": "windows-registry-key", "key": "hkey_current_user\\Software\\Acme"})"));
  // S 6.5: no display name in the value.
  refuses(add(R"({"type": "email-addr", "value": "Jane Roe <jroe@example.org>"})"),
          "/objects/2/value");
  accepts(
      add(R"({"type": "email-addr", "value": "jroe@example.org", "display_name": "Jane Roe"})"));
  // S 6.6: body_multipart only when is_multipart is true; body_raw_ref names
  // an entry.
  refuses(add(R"({"type": "email-message", "is_multipart": false,
                  "body_multipart": [{"body": "hi", "content_type": "text/plain"}]})"),
          "/objects/2/body_multipart");
  accepts(add(R"({"type": "email-message", "is_multipart": false, "body": "hi"})"));
  refuses(add(R"({"type": "email-message", "is_multipart": true,
                  "body_multipart": [{"body": "hi"}, {"body_raw_ref": "42"}]})"),
          "/objects/2/body_multipart/1/body_raw_ref");
  accepts(add(R"({"type": "email-message", "is_multipart": true,
                  "body_multipart": [{"body": "hi"}, {"body_raw_ref": "1"}]})"));
  refuses(add(R"({"type": "email-message", "is_multipart": false, "from_ref": "1"})"),
          "/objects/2/from_ref");
  // S 6.1 artifact: payload_bin xor url, base64.
  refuses(add(R"({"type": "artifact", "payload_bin": "aGVsbG8=", "url": "https://example.com/a",
                  "hashes": {"MD5": "0123456789ABCDEF0123456789ABCDEF"}})"),
          "/objects/2/url");
  accepts(add(R"({"type": "artifact", "payload_bin": "aGVsbG8=", "mime_type": "text/plain"})"));
  refuses(add(R"({"type": "artifact", "payload_bin": "not base64"})"), "/objects/2/payload_bin");
  refuses(
      add(R"({"type": "artifact", "payload_bin": "aGVsbG8=", "encryption_algorithm": "rot13"})"),
      "/objects/2/encryption_algorithm");
  // An unregistered MIME type is only a SHOULD (S 6.1 "SHOULD be one of the
  // values defined in the Template column in the IANA media type registry").
  accepts(add(R"({"type": "artifact", "url": "https://example.com/a", "mime_type": "x-acme/blob",
                  "hashes": {"MD5": "0123456789ABCDEF0123456789ABCDEF"}})"));
  // S 3.9.1 character sets.
  refuses(add(R"({"type": "directory", "path": "C:\\Temp", "path_enc": "no.such.set"})"),
          "/objects/2/path_enc");
  accepts(add(R"({"type": "directory", "path": "C:\\Temp", "path_enc": "US-ASCII"})"));
  accepts(
      with(k_observed, R"("name": "inner.so")", R"("name": "inner.so", "name_enc": "ISO-8859-2")"));
  // S 6.4: contains_refs name files or directories.
  accepts(add(R"({"type": "directory", "path": "/tmp", "contains_refs": ["0", "1"]})"));
  refuses(add(R"({"type": "directory", "path": "/tmp", "contains_refs": ["99"]})"),
          "/objects/2/contains_refs/0");
  refuses(with(add(R"({"type": "directory", "path": "/tmp", "contains_refs": ["3"]})"), R"("1": {)",
               R"("3": {"type": "ipv4-addr", "value": "198.51.100.7"}, "1": {)"),
          "/objects/2/contains_refs/0");
  // S 6.7.2: an archive holds files and directories.
  accepts(with(add(R"({"type": "directory", "path": "/tmp"})"), R"("contains_refs": ["1"])",
               R"("contains_refs": ["1", "2"])"));
  // S 6.14: software languages are ISO 639-2 codes.
  refuses(add(R"({"type": "software", "name": "editor", "languages": ["eng", "zzz"]})"),
          "/objects/2/languages/1");
  accepts(
      add(R"({"type": "software", "name": "editor", "languages": ["eng", "fre", "fra", "qab"]})"));
  // S 3.8 reserved property names and S 3.1 property names.
  refuses(with(k_observed, R"("name": "inner.so")", R"("name": "inner.so", "action": true)"),
          "/objects/1/action");
  refuses(with(k_observed, R"("name": "inner.so")", R"("name": "inner.so", "Bad-Name": 1)"),
          "/objects/1/Bad-Name");
  // Only SCOs belong there.
  refuses(add(R"({"type": "malware", "name": "x", "is_family": true})"), "/objects/2/type");
  // A marking reference stays a STIX id.
  accepts(with(
      k_observed, R"("name": "inner.so")",
      R"("name": "inner.so", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"])"));
  // Should-level matters stay accepted: a process priority not ending in
  // _CLASS, custom members of x509 v3 extensions or registry values.
  accepts(add(R"({"type": "process", "pid": 314, "extensions": {"windows-process-ext":
                  {"aslr_enabled": true, "priority": "HIGH_PRIORITY"}}})"));
  accepts(add(R"({"type": "windows-registry-key", "key": "HKEY_LOCAL_MACHINE\\System",
                  "values": [{"name": "Foo", "data": "q", "data_type": "REG_SZ", "note": "n"}]})"));
}

// S 6.14 at the top level too.
TEST_CASE("conformance: software languages", "[stix][conformance]") {
  const std::string sw = R"({"type": "software", "spec_version": "2.1",
    "id": "software--1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d", "name": "Word",
    "languages": ["LANGS"]})";
  accepts(with(sw, "LANGS", "eng"));
  accepts(with(sw, "LANGS", "ger"));
  accepts(with(sw, "LANGS", "deu"));
  // Before: any string was accepted.
  refuses(with(sw, "LANGS", "bbb"), "/languages/0");
  refuses(with(sw, "LANGS", "en"), "/languages/0");
}

// S 6.1: an artifact's url is a URL. Before: any string was accepted.
TEST_CASE("conformance: artifact url", "[stix][conformance]") {
  const std::string art = R"({"type": "artifact", "spec_version": "2.1",
    "id": "artifact--6f5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c", "url": "URL", "mime_type": "text/plain",
    "hashes": {"SHA-256": "6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}})";
  accepts(with(art, "URL", "https://files.example.net/drop/a.txt"));
  accepts(with(art, "URL", "ftp://[2001:db8::7]:2121/pub/a.txt"));
  refuses(with(art, "URL", "sample"), "/url");
  refuses(with(art, "URL", "https://files.example.net/a b.txt"), "/url");
}

// ---------------------------------------------------------------------------
// S 3.2, 2.16: timestamps.

TEST_CASE("conformance: timestamps are real dates and times", "[stix][conformance]") {
  const std::string ap = R"({"type": "attack-pattern", "spec_version": "2.1",
    "id": "attack-pattern--2c1b0a9f-8e7d-4c6b-9a5f-4e3d2c1b0a9f",
    "created": "2016-02-12T08:17:27.000Z", "modified": "MOD", "name": "Phish",
    "external_references": [{"source_name": "capec", "external_id": "CAPEC-98"}]})";
  accepts(with(ap, "MOD", "2016-02-12T08:17:27.000Z"));
  accepts(with(ap, "MOD", "2016-02-29T08:17:27.000Z"));
  for (const char* bad :
       {"2016-13-12T08:17:27.000Z", "2016-03-42T08:17:27.000Z", "2016-03-00T08:17:27.000Z",
        "2016-03-12T99:17:27.000Z", "2016-03-12T08:99:27.000Z", "2016-11-31T08:17:27.000Z",
        "2017-02-29T08:17:27.000Z"}) {
    refuses(with(ap, "MOD", bad), "/modified");
  }
  // created may carry more digits than modified; only the order counts.
  refuses(with(with(ap, "MOD", "2016-02-12T08:17:27.000Z"),
               "\"2016-02-12T08:17:27.000Z\", \"modified\"",
               "\"2016-02-12T08:17:27.000036Z\", \"modified\""),
          "/modified");
  refuses(with(R"({"type": "report", "spec_version": "2.1",
    "id": "report--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "r",
    "created": "2015-12-21T19:59:11.000Z", "modified": "2016-05-21T19:59:11.000Z",
    "published": "PUB", "object_refs": ["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2"]})",
               "PUB", "2016-11-31T08:17:27.000000Z"),
          "/published");
}

// ---------------------------------------------------------------------------
// S 2.5 external references, S 2.7 hashes, S 3.1 property names.

TEST_CASE("conformance: external references, hashes and property names", "[stix][conformance]") {
  const std::string vuln = R"({"type": "vulnerability", "spec_version": "2.1",
    "id": "vulnerability--7e6d5c4b-3a2f-4e1d-8c0b-9a8f7e6d5c4b",
    "created": "2016-05-12T08:17:27.000Z", "modified": "2016-05-12T08:17:27.000Z",
    "name": "CVE-2016-1234", "external_references": [{"source_name": "cve", "external_id": "CVE-2016-1234"}]})";
  accepts(vuln);
  for (const char* bad : {"2016-1234", "CVE-20161234", "CVE-2016-abc", "cve-2016-1234"}) {
    refuses(with(vuln, "\"CVE-2016-1234\"}", std::string("\"") + bad + "\"}"),
            "/external_references/0/external_id");
  }
  refuses(with(vuln, "\"cve\"", "\"CVE\""), "/external_references/0/source_name");
  // A url without hashes is a SHOULD.
  accepts(with(
      vuln, R"({"source_name": "cve", "external_id": "CVE-2016-1234"})",
      R"({"source_name": "veris", "external_id": "0001AA7F", "url": "https://example.com/x.json"})"));
  refuses(with(vuln, R"(, "external_id": "CVE-2016-1234")", ""), "/external_references/0");
  refuses(with(with(vuln, "\"cve\"", "\"capec\""), "\"CVE-2016-1234\"}", "\"CAPEC-abc\"}"),
          "/external_references/0/external_id");

  // Hash names: an unknown name of 3+ characters is a SHOULD (hash-algorithm-ov),
  // under 3 characters a MUST.
  const std::string file = R"({"type": "file", "spec_version": "2.1",
    "id": "file--3b2a1f0e-9d8c-5b7a-a6f5-e4d3c2b1a0f9", "name": "a.exe",
    "hashes": {"NAME": "8D98A25E9D0662B1F4CA3BF22D6F53E9"}})";
  accepts(with(file, "NAME", "abcdefghijklmnopqrstuvwxyz0123456789"));
  accepts(with(file, "NAME", "MD5"));
  refuses(with(file, "NAME", "MD"), "/hashes/MD");

  // Custom property names: x_ prefixes and plain names are SHOULDs;
  // a hyphen breaks the MUST of S 3.1.
  accepts(with(vuln, "\"name\"", "\"x_acme_rank\": 5, \"rank\": 5, \"name\""));
  refuses(with(vuln, "\"name\"", "\"x-acme\": 5, \"name\""), "/x-acme");
  refuses(with(vuln, "\"name\"", "\"ab\": 5, \"name\""), "/ab");
  // A property extension's members follow the same rules.
  accepts(with(
      vuln, "\"name\"",
      R"("extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5, "toxicity": 8}}, "name")"));
}

// S 3.9.1: *_enc values are names from the IANA Character Sets registry,
// aliases included. Before: only some 200 names in common use were known,
// so registered names such as iso-ir-100 or IBM273 were refused.
TEST_CASE("conformance: IANA character set names and aliases", "[stix][conformance]") {
  const std::string dir = R"({"type": "directory", "spec_version": "2.1",
    "id": "directory--4c3b2a1f-0e9d-5c8b-a7f6-e5d4c3b2a1f0", "path": "/srv", "path_enc": "ENC"})";
  for (const char* ok : {"US-ASCII", "utf-8", "ISO-8859-2", "iso-ir-100", "IBM273", "csISOLatin1",
                         "ANSI_X3.4-1968", "ISO_646.irv:1991", "ISO-8859-1-Windows-3.0-Latin-1",
                         "NF_Z_62-010_(1973)", "Windows-31J", "ebcdic-us-37+euro", "ISO-8859-11",
                         "CP50220", "Extended_UNIX_Code_Packed_Format_for_Japanese"}) {
    accepts(with(dir, "ENC", ok));
  }
  for (const char* no : {"no.such.set", "x-mac-roman", "UTF-9", ""}) {
    refuses(with(dir, "ENC", no), "/path_enc");
  }
}

// ---------------------------------------------------------------------------
// Valid forms the value checks must not refuse.

TEST_CASE("conformance: valid value forms are accepted", "[stix][conformance]") {
  auto sco = [](const std::string& type, const std::string& members) {
    return R"({"type": ")" + type + R"(", "spec_version": "2.1", "id": ")" + type +
           R"(--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", )" + members + "}";
  };
  for (const char* url :
       {"http://example.com", "https://example.com/",
        "https://user:pw@example.com:8443/a/b?c=d&e=f#g", "http://127.0.0.1:8080/x",
        "http://[2001:db8::1]/", "http://[::ffff:192.0.2.1]:80/",
        "ftp://ftp.example.org/pub/file.tar.gz", "file:///C:/Windows/System32/calc.exe",
        "mailto:jdoe@example.com", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "https://example.com/%7Euser/path%20with%20space", "http://example.com/a;b=c/d!$&'()*+,=",
        "hxxp://defanged.example.com/x", "http://xn--nxasmq6b.example/", "http://example.com?q",
        "http://example.com/#frag/with?chars", "data:text/plain;base64,SGVsbG8="}) {
    INFO(url);
    accepts(sco("url", std::string("\"value\": \"") + url + "\""));
  }
  for (const char* mail :
       {"jdoe@example.com", "j.doe+tag@sub.example.co.uk", "\\\"john doe\\\"@example.com",
        "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]", "o'brien@example.ie", "x@localhost",
        "用户@例子.广告", "a!#$%&'*+/=?^_`{|}~-b@example.com"}) {
    INFO(mail);
    accepts(sco("email-addr", std::string("\"value\": \"") + mail + "\""));
  }
  for (const char* v6 : {"::", "::1", "::1/128", "2001:db8::", "2001:DB8::A:B", "fe80::1:2:3:4:5:6",
                         "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "64:ff9b::192.0.2.33",
                         "2001:db8:0:0:0:0:2:1", "2001:db8::/32"}) {
    INFO(v6);
    accepts(sco("ipv6-addr", std::string("\"value\": \"") + v6 + "\""));
  }
  for (const char* v4 : {"0.0.0.0", "255.255.255.255", "10.0.0.0/8", "0.0.0.0/0"}) {
    INFO(v4);
    accepts(sco("ipv4-addr", std::string("\"value\": \"") + v4 + "\""));
  }
  for (const char* cpe :
       {"cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*",
        "cpe:2.3:o:microsoft:windows_10:1607:*:*:*:*:*:x64:*",
        "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*",
        "cpe:2.3:a:foo\\\\:bar:baz:1.0:*:*:*:*:*:*:*",
        "cpe:2.3:a:microsoft:internet_explorer:8.\\\\*:sp?:*:*:*:*:*:*",
        "cpe:2.3:a:acme:tool\\\\(x86\\\\):1.0:*:*:en\\\\-us:*:*:*:*",
        "cpe:2.3:h:cisco:asa_5510:-:*:*:*:*:*:*:*", "cpe:2.3:*:*:*:*:*:*:*:*:*:*:*",
        "cpe:2.3:a:vendor:product:1.0:*:*:*:*:*:*:\\\\!note"}) {
    INFO(cpe);
    accepts(sco("software", std::string("\"name\": \"n\", \"cpe\": \"") + cpe + "\""));
  }
  for (const char* key : {"HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft", "HKEY_LOCAL_MACHINE",
                          "hkey_current_user\\\\Software", "HKEY_USERS\\\\S-1-5-21\\\\Software",
                          "HKEY_CLASSES_ROOT\\\\.exe", "HKEY_CURRENT_CONFIG\\\\System"}) {
    INFO(key);
    accepts(sco("windows-registry-key", std::string("\"key\": \"") + key + "\""));
  }
  const std::string id = R"({"type": "identity", "spec_version": "2.1",
    "id": "identity--5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "created": "2020-01-01T00:00:00.000Z",
    "modified": "2020-01-01T00:00:00.000Z", "name": "ACME", "identity_class": "corporation", MORE})";
  for (const char* lang :
       {"en", "en-US", "zh-Hant-TW", "es-419", "sl-rozaj-biske", "de-CH-1901", "x-private",
        "en-a-bbb-x-a-ccc", "i-klingon", "sgn-BE-FR", "yue-Hant", "zh-cmn-Hans-CN"}) {
    INFO(lang);
    accepts(with(id, "MORE", std::string("\"lang\": \"") + lang + "\""));
  }
  // Custom properties, toplevel-property-extension properties, and
  // extensions of every extension_type.
  accepts(with(
      id, "MORE",
      R"("x_acme_score": 4, "acme_region": "emea", "x_acme_nested": {"Key With Spaces": [1, 2]},
                  "extensions": {"extension-definition--71736db5-10db-43d3-b0e3-65cf81601fe1": {"extension_type": "property-extension", "rank": 1},
                                 "extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade": {"extension_type": "toplevel-property-extension"},
                                 "x-acme-ext": {"anything": true}})"));
  // confidence 0 and 100 are in range.
  accepts(with(id, "MORE", "\"confidence\": 0"));
  accepts(with(id, "MORE", "\"confidence\": 100"));
  refuses(with(id, "MORE", "\"confidence\": 101"), "/confidence");
  refuses(with(id, "MORE", "\"confidence\": -1"), "/confidence");
  // Open vocabularies are SHOULDs: any identity_class, indicator pattern_type.
  accepts(R"({"type": "indicator", "spec_version": "2.1",
    "id": "indicator--1e0f9a8b-7c6d-4e5f-8a3b-2c1d0e9f8a7b", "created": "2020-01-01T00:00:00.000Z",
    "modified": "2020-01-01T00:00:00.000Z", "pattern": "rule x { condition: true }",
    "pattern_type": "acme-rules", "valid_from": "2020-01-01T00:00:00Z",
    "indicator_types": ["acme-specific"]})");
}

// S 9: patterns of pattern_type "stix".
TEST_CASE("conformance: indicator patterns", "[stix][conformance]") {
  const std::string ind = R"({"type": "indicator", "spec_version": "2.1",
    "id": "indicator--8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d", "created": "2020-01-01T00:00:00.000Z",
    "modified": "2020-01-01T00:00:00.000Z", "pattern_type": "stix",
    "valid_from": "2020-01-01T00:00:00Z", "pattern": "PATTERN"})";
  for (const char* ok :
       {"[file:hashes.'SHA-256' = "
        "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[x-acme-gadget:x_acme_name = 'something']", "[file:x_acme_name = 'something']",
        "[gadget:name = 'something']", "[windows-registry-key:values[*].data = 'badstuff']",
        "[windows-registry-key:key LIKE 'HKEY_LOCAL_MACHINE\\\\\\\\Foo\\\\\\\\Bar%']"}) {
    INFO(ok);
    accepts(with(ind, "PATTERN", ok));
  }
  for (const char* bad : {"[file:hashes.\\\"SHA-256\\\" = "
                          "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
                          "[ab:yz = 'something']"}) {
    INFO(bad);
    refuses(with(ind, "PATTERN", bad), "/pattern");
  }
}

// S 3.1 names in an indicator's pattern: types and properties of 3 or more
// characters. Before: "[ab:yz = 'something']" was accepted in an indicator.
// The bare pattern grammar still takes short names.
TEST_CASE("conformance: names in indicator patterns", "[stix][conformance]") {
  CHECK(validate_stix_pattern("[ab:yz = 'something']"));
  CHECK(!validate_stix_pattern("[ab:name = 'something']", true));
  CHECK(!validate_stix_pattern("[file:nm = 'something']", true));
  CHECK(validate_stix_pattern("[file:id = 'file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10']", true));
  CHECK(validate_stix_pattern("[x-acme-gadget:x_acme_name = 'something']", true));
}

// S 4.11, 4.12, 6: "The object referenced MUST be of type ...". Before:
// these references were only checked to be STIX ids.
TEST_CASE("conformance: reference targets fixed by the spec", "[stix][conformance]") {
  const std::string ma = R"({"type": "malware-analysis", "spec_version": "2.1",
    "id": "malware-analysis--3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "created": "2020-01-01T00:00:00.000Z",
    "modified": "2020-01-01T00:00:00.000Z", "product": "sandbox", "result": "malicious", MORE})";
  const std::string sw = "\"software--a4186d48-a4de-5146-af88-6cec55e65c69\"";
  accepts(with(ma, "MORE", "\"host_vm_ref\": " + sw));
  accepts(with(ma, "MORE", "\"installed_software_refs\": [" + sw + "]"));
  accepts(with(ma, "MORE", R"("sample_ref": "file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10")"));
  refuses(with(ma, "MORE", R"("host_vm_ref": "identity--a4186d48-a4de-4146-af88-6cec55e65c69")"),
          "/host_vm_ref");
  refuses(
      with(ma, "MORE", R"("operating_system_ref": "file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10")"),
      "/operating_system_ref");
  refuses(with(ma, "MORE", R"("sample_ref": "indicator--a4186d48-a4de-4146-af88-6cec55e65c69")"),
          "/sample_ref");
  refuses(R"({"type": "malware", "spec_version": "2.1",
    "id": "malware--3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "created": "2020-01-01T00:00:00.000Z",
    "modified": "2020-01-01T00:00:00.000Z", "is_family": false,
    "sample_refs": ["file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", "url--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10"]})",
          "/sample_refs/1");

  const std::string ip = R"({"type": "ipv4-addr", "spec_version": "2.1",
    "id": "ipv4-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", "value": "198.51.100.3", MORE})";
  accepts(with(ip, "MORE",
               R"("resolves_to_refs": ["mac-addr--65cfcf98-8a6e-5a1b-8f61-379ac4f92d00"])"));
  refuses(with(ip, "MORE",
               R"("resolves_to_refs": ["domain-name--65cfcf98-8a6e-5a1b-8f61-379ac4f92d00"])"),
          "/resolves_to_refs/0");
  refuses(
      with(ip, "MORE", R"("belongs_to_refs": ["identity--65cfcf98-8a6e-4a1b-8f61-379ac4f92d00"])"),
      "/belongs_to_refs/0");
  const std::string proc = R"({"type": "process", "spec_version": "2.1",
    "id": "process--0b6c8c52-5a2f-4b71-9b3e-2f4d4c1c8e10", "pid": 4, MORE})";
  accepts(with(proc, "MORE", R"("image_ref": "file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10")"));
  refuses(with(proc, "MORE", R"("parent_ref": "file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10")"),
          "/parent_ref");
  refuses(
      with(
          proc, "MORE",
          R"("extensions": {"windows-service-ext": {"service_name": "s", "service_dll_refs": ["process--0b6c8c52-5a2f-4b71-9b3e-2f4d4c1c8e10"]}})"),
      "/extensions/windows-service-ext/service_dll_refs/0");
  refuses(R"({"type": "network-traffic", "spec_version": "2.1",
    "id": "network-traffic--5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
    "dst_ref": "ipv4-addr--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10", "protocols": ["tcp"],
    "extensions": {"http-request-ext": {"request_method": "get", "request_value": "/",
      "message_body_data_ref": "file--0b6c8c52-5a2f-5b71-9b3e-2f4d4c1c8e10"}}})",
          "/extensions/http-request-ext/message_body_data_ref");

  // Inside observed-data's objects the target is the entry the key names.
  auto add = [](const std::string& entry) {
    return with(k_observed, R"("1": {)", "\"2\": " + entry + ", \"1\": {");
  };
  accepts(add(R"({"type": "process", "pid": 4, "image_ref": "1"})"));
  refuses(add(R"({"type": "process", "pid": 4, "image_ref": "2"})"), "/objects/2/image_ref");
  refuses(add(R"({"type": "email-message", "is_multipart": true,
                  "body_multipart": [{"body": "hi"}, {"body_raw_ref": "2"}]})"),
          "/objects/2/body_multipart/1/body_raw_ref");
}

// S 4.4: last_seen >= first_seen, compared as instants whatever the digits.
TEST_CASE("conformance: seen orderings with sub-millisecond digits", "[stix][conformance]") {
  const std::string c = R"({"type": "campaign", "spec_version": "2.1",
    "id": "campaign--6c5b4a3f-2e1d-4c0b-9a8f-7e6d5c4b3a2f", "created": "2023-03-17T13:37:42.596Z",
    "modified": "2023-09-27T20:12:54.984Z", "name": "Dream", "first_seen": "FIRST",
    "last_seen": "2020-08-01T04:00:00.000Z"})";
  accepts(with(c, "FIRST", "2019-09-01T04:00:00.000Z"));
  accepts(with(c, "FIRST", "2020-08-01T04:00:00Z"));
  refuses(with(c, "FIRST", "2020-08-01T04:00:00.000123Z"), "/last_seen");
  refuses(with(c, "FIRST", "2019-09-31T04:00:00.000Z"), "/first_seen");
}

// S 6.1 artifact inside observed-data objects: the independent validator's
// valid encrypted artifact, and a decryption_key without an algorithm.
TEST_CASE("conformance: encrypted artifacts in observed-data objects", "[stix][conformance]") {
  auto add = [](const std::string& entry) {
    return with(k_observed, R"("1": {)", "\"2\": " + entry + ", \"1\": {");
  };
  accepts(add(R"({"type": "artifact", "mime_type": "application/zip",
                  "payload_bin": "UEsDBAoAAAAAAA==", "encryption_algorithm": "mime-type-indicated",
                  "decryption_key": "infected"})"));
  refuses(add(R"({"type": "artifact", "mime_type": "application/zip",
                  "payload_bin": "UEsDBAoAAAAAAA==", "decryption_key": "infected"})"),
          "/objects/2/decryption_key");
}

#include "formats/stix_pattern.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/json.hpp"

using namespace cairn::formats;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

const std::filesystem::path corpus_dir{CAIRN_CORPUS_DIR};

// Calls f(indicator) for every STIX-pattern indicator anywhere in a document.
template <class F>
void for_each_indicator(const json_view& v, F&& f) {
  if (v.is_object()) {
    auto type = v.get("type");
    auto pattern = v.get("pattern");
    auto pattern_type = v.get("pattern_type");
    if (type && type->is_string() && type->as_string() == "indicator" && pattern &&
        pattern->is_string() && pattern_type && pattern_type->is_string() &&
        pattern_type->as_string() == "stix") {
      f(v);
    }
  }
  if (v.is_object() || v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) for_each_indicator(v.value_at(i), f);
  }
}

bool accepts(std::string_view pattern) {
  return validate_stix_pattern(pattern).has_value();
}

std::string message_of(std::string_view pattern) {
  auto r = validate_stix_pattern(pattern);
  return r ? std::string{} : r.error().message;
}

bool refused_with(std::string_view pattern, std::string_view text) {
  return message_of(pattern).find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("every pattern in patterns-valid.txt is accepted") {
  const auto lines = read_lines(corpus_dir / "patterns-valid.txt");
  REQUIRE(lines.size() == 77);
  for (const auto& line : lines) {
    INFO(line);
    auto r = validate_stix_pattern(line);
    INFO((r ? std::string{} : r.error().message));
    CHECK(r);
  }
}

TEST_CASE("every pattern in patterns-invalid.txt is refused") {
  const auto lines = read_lines(corpus_dir / "patterns-invalid.txt");
  REQUIRE(lines.size() == 27);
  for (const auto& line : lines) {
    INFO(line);
    CHECK_FALSE(accepts(line));
  }
}

TEST_CASE("the semantic cases of patterns-invalid.txt carry the validator's wording") {
  CHECK(message_of("[file:hashes.'SHA-256' = 'f00']") ==
        "offset 1: 'f00' is not a valid SHA-256 hash");
  CHECK(refused_with("[a:b = 'x'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
                     "Duplicate qualifier type encountered: WITHIN"));
  CHECK(refused_with("([a:b = 'x'] REPEATS 2 TIMES REPEATS 3 TIMES)",
                     "Duplicate qualifier type encountered: REPEATS"));
  CHECK(
      refused_with("[a:b = 'x'] START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z' "
                   "START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z'",
                   "Duplicate qualifier type encountered: STARTSTOP"));
  CHECK(message_of("file:size = 1280") == "offset 0: input is missing square brackets");
  CHECK(message_of("[file:size = ]") == "offset 13: expected a constant, found ']'");
}

TEST_CASE("indicator patterns in the valid corpus files are accepted") {
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir / "valid")) {
    if (entry.path().extension() != ".json") continue;
    auto doc = parse_json(read_file(entry.path()));
    if (!doc) continue;
    for_each_indicator(doc->root(), [&](const json_view& indicator) {
      const auto pattern = indicator.get("pattern")->as_string();
      INFO(entry.path().filename().string() << ": " << pattern);
      auto r = validate_stix_pattern(pattern);
      INFO((r ? std::string{} : r.error().message));
      CHECK(r);
      ++checked;
    });
  }
  CHECK(checked > 50);
}

TEST_CASE("the FireEye Poison Ivy bundle's custom properties are refused") {
  const auto file =
      corpus_dir / "invalid" /
      "cti-stix-elevator__idioms-json-2.1-valid__fireeye-pivy-report-with-indicators.json";
  auto doc = parse_json(read_file(file));
  REQUIRE(doc);
  bool found = false;
  std::size_t refused = 0;
  for_each_indicator(doc->root(), [&](const json_view& indicator) {
    const auto pattern = indicator.get("pattern")->as_string();
    auto r = validate_stix_pattern(pattern);
    if (indicator.get("id")->as_string() == "indicator--6478991b-3af4-45f9-b649-b2c4e7acedc7") {
      found = true;
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("'x_ID' is not a valid observable property name") !=
            std::string::npos);
    }
    if (!r) {
      ++refused;
      // Every refusal in this file is about the names, never the syntax.
      INFO(r.error().message);
      CHECK(r.error().message.find("is not a valid observable property name") != std::string::npos);
    }
  });
  CHECK(found);
  CHECK(refused > 0);
}

TEST_CASE("comparison operators") {
  CHECK(accepts("[file:size = 1]"));
  CHECK(accepts("[file:size == 1]"));
  CHECK(accepts("[file:size != 1]"));
  CHECK(accepts("[file:size <> 1]"));
  CHECK(accepts("[file:size < 1]"));
  CHECK(accepts("[file:size <= 1]"));
  CHECK(accepts("[file:size > 1]"));
  CHECK(accepts("[file:size >= 1]"));
  CHECK(accepts("[file:size NOT = 1]"));
  CHECK(accepts("[file:size NOT >= 1]"));
  CHECK(accepts("[file:name IN ('a', 'b')]"));
  CHECK(accepts("[file:name NOT IN ()]"));
  CHECK(accepts("[file:name IN (1, 2.5, true, 'x', h'00', b'AAAA', t'2020-01-01T00:00:00Z')]"));
  CHECK(accepts("[file:name LIKE 'a%']"));
  CHECK(accepts("[file:name NOT MATCHES '^a']"));
  CHECK(accepts("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"));
  CHECK(accepts("[ipv4-addr:value NOT ISSUPERSET '10.0.0.0/8']"));
  CHECK(accepts("[EXISTS file:name]"));
  CHECK(accepts("[NOT EXISTS file:name AND file:size = 3]"));
  CHECK(accepts("[file:flag = true OR file:flag = false]"));

  CHECK_FALSE(accepts("[file:size =! 1]"));
  CHECK_FALSE(accepts("[file:size => 1]"));
  CHECK_FALSE(accepts("[file:flag < true]"));  // booleans are not orderable
  CHECK_FALSE(accepts("[file:name LIKE 5]"));  // LIKE takes a string
  CHECK_FALSE(accepts("[file:name MATCHES h'00']"));
  CHECK_FALSE(accepts("[file:name IN 'a']"));  // a set needs parentheses
  CHECK_FALSE(accepts("[file:name IN ('a',)]"));
  CHECK_FALSE(accepts("[file:name EXISTS]"));
  CHECK_FALSE(accepts("[EXISTS NOT file:name]"));
  CHECK_FALSE(accepts("[NOT file:name = 'a']"));
  CHECK_FALSE(accepts("[file:name NOT NOT = 'a']"));
  CHECK_FALSE(accepts("[file:name]"));
}

TEST_CASE("numeric constants follow the grammar's lexing") {
  CHECK(accepts("[x:n = +1]"));
  CHECK(accepts("[x:n = -1]"));
  CHECK(accepts("[x:n = 0]"));
  CHECK(accepts("[x:n = -0]"));
  CHECK(accepts("[x:n = 1.5]"));
  CHECK(accepts("[x:n = .5]"));
  CHECK(accepts("[x:n = +.5]"));
  CHECK(accepts("[x:n = -0.25]"));
  CHECK(accepts("[x:n = 012.5]"));  // FloatLiteral allows leading zeros
  CHECK(accepts("[x:n=-1]"));

  CHECK_FALSE(accepts("[x:n = 01]"));  // lexes as 0 followed by 1
  CHECK_FALSE(accepts("[x:n = 1.]"));
  CHECK_FALSE(accepts("[x:n = 1e5]"));
  CHECK_FALSE(accepts("[x:n = +]"));
  CHECK_FALSE(accepts("[x:n = - 1]"));
  CHECK_FALSE(accepts("[x:n = 1.2.3]"));
}

TEST_CASE("string, hex, binary and boolean constants") {
  CHECK(accepts(R"([x:s = 'it\'s'])"));
  CHECK(accepts(R"([x:s = 'back\\slash'])"));
  CHECK(accepts("[x:s = '']"));
  CHECK(accepts("[x:s = 'multi\nline']"));
  CHECK(accepts("[x:s = 'caf\xC3\xA9']"));
  CHECK(accepts("[x:h = h'']"));
  CHECK(accepts("[x:h = h'00FFab']"));
  CHECK(accepts("[x:b = b'AAAA']"));
  CHECK(accepts("[x:b = b'YWI=']"));
  CHECK(accepts("[x:b = b'YQ==']"));
  CHECK(accepts("[x:b = b'dGhpcyBpcyBhIHRlc3Q=']"));
  CHECK(accepts("[x:b = b'+/+/']"));

  CHECK(refused_with(R"([x:s = 'a\d'])", "escape"));
  CHECK(refused_with("[x:s = 'open]", "unterminated"));
  CHECK(refused_with("[x:h = h'abc']", "even number"));
  CHECK_FALSE(accepts("[x:h = h'zz']"));
  CHECK_FALSE(accepts("[x:h = H'00']"));
  CHECK(refused_with("[x:b = b'']", "base64"));
  CHECK_FALSE(accepts("[x:b = b'YQ']"));
  CHECK_FALSE(accepts("[x:b = b'YQ=']"));
  CHECK_FALSE(accepts("[x:b = b'Y===']"));
  CHECK_FALSE(accepts("[x:b = b'YQ==YQ==']"));
  CHECK_FALSE(accepts("[x:b = b'YW-=']"));
  CHECK_FALSE(accepts("[x:f = TRUE]"));
  CHECK_FALSE(accepts("[x:f = True]"));
  CHECK_FALSE(accepts("[x:s = \"double\"]"));
}

TEST_CASE("timestamp constants use the grammar's digit ranges") {
  CHECK(accepts("[x:t = t'2024-02-29T00:00:00Z']"));
  CHECK(accepts("[x:t = t'2023-02-30T23:59:60Z']"));  // grammar: no calendar check, leap second
  CHECK(accepts("[x:t = t'0000-01-01T00:00:00.000000001Z']"));
  CHECK(accepts("[x:t = t'9999-12-31T23:59:59.9Z']"));

  CHECK_FALSE(accepts("[x:t = t'2024-01-01T00:00:00.Z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01t00:00:00Z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01T00:00:00z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01T00:00:00+00:00']"));
  CHECK_FALSE(accepts("[x:t = t'2024-1-01T00:00:00Z']"));
  CHECK_FALSE(accepts("[x:t = t'24-01-01T00:00:00Z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01T00:00:61Z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01T24:00:00Z']"));
  CHECK_FALSE(accepts("[x:t = T'2024-01-01T00:00:00Z']"));
  CHECK_FALSE(accepts("[x:t = t'2024-01-01T00:00:00Z]"));
}

TEST_CASE("object paths") {
  CHECK(
      accepts("[file:hashes.'SHA-256' = "
              "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"));
  CHECK(accepts("[file:'name' = 'x']"));
  CHECK(accepts("[x-custom-type:prop = 1]"));
  CHECK(accepts("[x:list[0] = 1]"));
  CHECK(accepts("[x:list[+2] = 1]"));
  CHECK(accepts("[x:list[-1] = 1]"));  // negative indexes are in the grammar
  CHECK(accepts("[x:list[*].key[3].'odd key'.Upper_Case = 1]"));
  CHECK(accepts("[email-message:from_ref.value = 'a@example.com']"));
  CHECK(accepts("[ file : size = 1 ]"));  // tokens may be separated by white space

  CHECK(refused_with("[file.size = 1]", "offset 5: expected ':'"));
  CHECK_FALSE(accepts("[file:ntfs-ext = 1]"));  // hyphenated names must be quoted
  CHECK_FALSE(accepts("[file:x.ntfs-ext = 1]"));
  CHECK_FALSE(accepts("['file':name = 1]"));
  CHECK_FALSE(accepts("[file: = 1]"));
  CHECK_FALSE(accepts("[file:list[1.5] = 1]"));
  CHECK_FALSE(accepts("[file:list[] = 1]"));
  CHECK_FALSE(accepts("[file:list['a'] = 1]"));
  CHECK_FALSE(accepts("[file:a. = 1]"));
  CHECK_FALSE(accepts("[file:a.5 = 1]"));
  CHECK_FALSE(accepts("[file:IN = 1]"));  // keywords are not identifiers
  CHECK_FALSE(accepts("[file:true = 1]"));
  CHECK_FALSE(accepts("[AND:x = 1]"));
  CHECK(accepts("[file:in = 1]"));  // lower-case words are not keywords
}

TEST_CASE("type and property names follow the validator's rules") {
  CHECK(message_of("[x:x_ID = 'a']") == "offset 1: 'x_ID' is not a valid observable property name");
  CHECK(refused_with("[File:name = 'a']", "'File' is not a valid observable type name"));
  CHECK(refused_with("[file:Name = 'a']", "'Name' is not a valid observable property name"));
  CHECK(refused_with("[file:'na-me' = 'a']", "'na-me' is not a valid observable property name"));
  CHECK(refused_with("[file:'' = 'a']", "is not a valid observable property name"));
  CHECK(refused_with("[EXISTS file:Name]", "'Name' is not a valid observable property name"));
  CHECK(refused_with("[file:" + std::string(251, 'a') + " = 1]",
                     "is not a valid observable property name"));
  CHECK(accepts("[file:" + std::string(250, 'a') + " = 1]"));
  // Only the first property is a property name; later steps are keys.
  CHECK(accepts("[file:extensions.'X-Y'.Field = 1]"));
  CHECK(accepts("[x_custom:a = 1]"));
}

TEST_CASE("hash values are checked by algorithm") {
  const std::string md5 = "cead3f77f6cda6ec00f57d76c9a6879f";
  const std::string sha1 = "3b320b90e024bfa48bda72aa7a82322c12345678";
  const std::string sha256(64, 'a');
  const std::string sha512(128, 'F');
  CHECK(accepts("[file:hashes.MD5 = '" + md5 + "']"));
  CHECK(accepts("[file:hashes.'SHA-1' = '" + sha1 + "']"));
  CHECK(accepts("[file:hashes.'SHA-256' = '" + sha256 + "']"));
  CHECK(accepts("[file:hashes.'SHA3-256' = '" + sha256 + "']"));
  CHECK(accepts("[file:hashes.'SHA-512' = '" + sha512 + "']"));
  CHECK(accepts("[file:hashes.'SHA3-512' = '" + sha512 + "']"));
  CHECK(accepts("[file:hashes.SSDEEP = '3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C']"));
  CHECK(accepts("[artifact:hashes.md5 = '" + md5 + "']"));
  CHECK(accepts("[file:hashes[*] = 'anything']"));       // no algorithm named
  CHECK(accepts("[file:hashes.TLSH = 'not checked']"));  // not in the validator's table
  CHECK(accepts("[file:hashes.'x-custom' = 'not checked']"));

  CHECK(message_of("[file:hashes.MD5 = '" + md5 + "0']") ==
        "offset 1: '" + md5 + "0' is not a valid MD5 hash");
  CHECK(refused_with("[file:hashes.'sha-256' = '" + md5 + "']", "is not a valid sha-256 hash"));
  CHECK(refused_with("[file:hashes.'SHA-1' = '" + sha1 + "a']", "is not a valid SHA-1 hash"));
  CHECK(refused_with("[file:hashes.'SHA-512' = '" + sha256 + "']", "is not a valid SHA-512 hash"));
  CHECK(refused_with("[file:hashes.'SHA3-512' = 'g" + sha512.substr(1) + "']",
                     "is not a valid SHA3-512 hash"));
  CHECK(refused_with("[file:hashes.SSDEEP = 'has space']", "is not a valid SSDEEP hash"));
  CHECK(refused_with("[file:hashes.MD5 = 5]", "is not a valid MD5 hash"));
  // stix2patterns checks the constant of every comparison on a named hash,
  // so a set or a LIKE pattern there is refused too.
  CHECK(refused_with("[file:hashes.MD5 IN ('" + md5 + "')]", "is not a valid MD5 hash"));
  CHECK(refused_with("[file:hashes.MD5 LIKE 'cead%']", "is not a valid MD5 hash"));
  CHECK(accepts("[file:hashes.MD5 MATCHES '" + md5 + "']"));
}

TEST_CASE("observation operators and qualifiers") {
  CHECK(accepts("[a:b = 1] AND [a:b = 2] OR [a:b = 3] FOLLOWEDBY [a:b = 4]"));
  CHECK(accepts("([a:b = 1] FOLLOWEDBY ([a:b = 2] OR [a:b = 3])) AND [a:b = 4]"));
  CHECK(accepts("[a:b = 1] WITHIN 5 SECONDS"));
  CHECK(accepts("[a:b = 1] WITHIN 0.5 SECONDS"));
  CHECK(accepts("[a:b = 1] WITHIN +5 SECONDS"));
  CHECK(accepts("[a:b = 1] WITHIN 0 SECONDS"));  // the grammar allows 0
  CHECK(accepts("[a:b = 1] REPEATS 3 TIMES"));
  CHECK(accepts("[a:b = 1] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'"));
  CHECK(
      accepts("[a:b = 1] REPEATS 2 TIMES WITHIN 5 SECONDS "
              "START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'"));
  CHECK(accepts("[a:b = 1] WITHIN 5 SECONDS AND [a:b = 2] WITHIN 5 SECONDS"));
  // Duplicates on a parenthesised group pass stix2patterns.
  CHECK(accepts("([a:b = 1]) WITHIN 5 SECONDS WITHIN 6 SECONDS"));
  CHECK(accepts("([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS"));

  CHECK(refused_with("[a:b = 1] REPEATS 2 TIMES WITHIN 5 SECONDS REPEATS 3 TIMES",
                     "Duplicate qualifier type encountered: REPEATS"));
  CHECK_FALSE(accepts("[a:b = 1] WITHIN 5"));
  CHECK_FALSE(accepts("[a:b = 1] WITHIN -5 SECONDS"));
  CHECK_FALSE(accepts("[a:b = 1] WITHIN 5 MINUTES"));
  CHECK_FALSE(accepts("[a:b = 1] REPEATS 2.5 TIMES"));
  CHECK_FALSE(accepts("[a:b = 1] REPEATS -2 TIMES"));
  CHECK_FALSE(accepts("[a:b = 1] START '2020-01-01T00:00:00Z' STOP '2020-01-02T00:00:00Z'"));
  CHECK_FALSE(accepts("[a:b = 1] START t'2020-01-01T00:00:00Z'"));
  CHECK_FALSE(accepts("WITHIN 5 SECONDS [a:b = 1]"));
  CHECK_FALSE(accepts("[a:b = 1] AND"));
  CHECK_FALSE(accepts("[a:b = 1] [a:b = 2]"));
  CHECK_FALSE(accepts("[a:b = 1] NOT [a:b = 2]"));
  CHECK_FALSE(accepts("[a:b = 1] LAST 5 SECONDS"));
  CHECK(refused_with("[a:b = 1] followedby [a:b = 2]", "keywords are upper-case"));
  CHECK_FALSE(accepts("[a:b = 1 and a:c = 2]"));
  CHECK_FALSE(accepts("[a:b = 1] FOLLOWEDBY"));
  CHECK_FALSE(accepts("[]"));
  CHECK_FALSE(accepts("[a:b = 1]]"));
  CHECK_FALSE(accepts("([a:b = 1]"));
  CHECK_FALSE(accepts("([a:b = 1] AND (a:b = 2))"));
}

TEST_CASE("comments and white space") {
  CHECK(accepts("[a:b = 1 /* note */ AND a:c = 2] // trailing note"));
  CHECK(accepts("[a:b /* between */ = /* tokens */ 1]"));
  CHECK(accepts("[a:b = 1] // one\n AND [a:c = 2]"));
  CHECK(accepts("[a:b = 1]\r\n\tOR\v[a:c = 2]\f"));
  CHECK(
      accepts("[a:b\xC2\xA0=\xE3\x80\x80"
              "1]"));  // U+00A0 and U+3000 are white space
  CHECK(accepts("  ( [a:b = 1] )"));

  CHECK_FALSE(accepts("[a:b = 1 /* open"));
  CHECK_FALSE(accepts("[a:b = 1] /"));
  CHECK_FALSE(accepts("[a:b = 1] # note"));
  CHECK_FALSE(accepts("[a:b\xE2\x80\x8B= 1]"));  // U+200B is not in the grammar's set
  // stix2patterns looks for '[' before it parses: a leading comment fails.
  CHECK(refused_with("/* c */ [a:b = 1]", "input is missing square brackets"));
  CHECK(refused_with("(/* c */[a:b = 1])", "input is missing square brackets"));
  CHECK(refused_with("", "input is missing square brackets"));
  CHECK(refused_with("   ", "input is missing square brackets"));
}

TEST_CASE("error messages say where and what") {
  CHECK(message_of("[a:b = 1] within 2 seconds") ==
        "offset 10: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern, found "
        "'within' (keywords are upper-case)");
  CHECK(message_of("[a:b =? 1]") == "offset 6: unexpected character '?'");
  CHECK(message_of("[a:b = 1") == "offset 8: expected AND, OR or ']', found end of pattern");
  CHECK(message_of("[a:b = 1] \x01") == "offset 10: unexpected character '\\x01'");
  // A syntax error wins over a semantic one found earlier.
  CHECK(refused_with("[File:x = 1] WITHIN", "offset 19: expected a positive number of seconds"));
}

TEST_CASE("nesting is bounded") {
  auto nested_observations = [](int levels) {
    return std::string(levels - 1, '(') + "[a:b = 1]" + std::string(levels - 1, ')');
  };
  auto nested_comparisons = [](int levels) {
    return "[" + std::string(levels - 1, '(') + "a:b = 1" + std::string(levels - 1, ')') + "]";
  };
  CHECK(accepts(nested_observations(64)));
  CHECK(refused_with(nested_observations(65), "nested deeper than 64"));
  CHECK(accepts(nested_comparisons(64)));
  CHECK(refused_with(nested_comparisons(65), "nested deeper than 64"));

  // Hostile input is refused, not a stack overflow.
  CHECK_FALSE(accepts(std::string(1'000'000, '(')));
  CHECK(refused_with(std::string(1'000'000, '(') + "[a:b = 1]", "nested deeper than 64"));
  CHECK(refused_with("[" + std::string(1'000'000, '('), "nested deeper than 64"));
  CHECK_FALSE(accepts(std::string(1'000'000, '[')));
}

TEST_CASE("long flat patterns are accepted") {
  std::string pattern = "[a:b = 0";
  for (int i = 1; i < 50'000; ++i) pattern += " OR a:b = " + std::to_string(i);
  pattern += "]";
  for (int i = 0; i < 10'000; ++i) pattern += " FOLLOWEDBY [a:c = 'x'] WITHIN 1 SECONDS";
  CHECK(accepts(pattern));
  CHECK_FALSE(accepts(pattern + " AND"));
}

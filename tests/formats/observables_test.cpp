#include "formats/observables.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "formats/stix_pattern.hpp"

using namespace cairn::formats;

namespace {

using k = observable_kind;

std::string indicator(std::string_view pattern) {
  return R"({"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",)"
         R"("created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",)"
         R"("pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","pattern":")" +
         json_escape(pattern) + "\"}";
}

// The observables of an indicator with this pattern, sorted for comparison.
std::vector<observable> of(std::string_view pattern) {
  auto out = observables_of(indicator(pattern));
  std::sort(out.begin(), out.end(), [](const observable& a, const observable& b) {
    return std::tie(a.kind, a.value) < std::tie(b.kind, b.value);
  });
  return out;
}

observable obs(k kind, std::string value, bool exportable, bool cidr = false) {
  return observable{kind, std::move(value), cidr, exportable};
}

std::vector<observable> sorted(std::vector<observable> v) {
  std::sort(v.begin(), v.end(), [](const observable& a, const observable& b) {
    return std::tie(a.kind, a.value, a.cidr, a.exportable) <
           std::tie(b.kind, b.value, b.cidr, b.exportable);
  });
  return v;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Validation reads the observables from the trees it parsed; observables_of()
// reads them from the stored JSON. Both must find the same values.
// Returns how many of the objects carry any.
std::size_t check_validation_agrees(const std::vector<parsed_object>& parsed) {
  std::size_t carrying = 0;
  for (const auto& p : parsed) {
    if (!p.info) continue;
    INFO(p.info->json);
    CHECK(sorted(p.info->observables) == sorted(observables_of(p.info->json)));
    if (!p.info->observables.empty()) ++carrying;
  }
  return carrying;
}

std::string normal(k kind, std::string_view v) {
  auto r = normalise_observable(kind, v);
  return r ? *r : "error: " + r.error().message;
}

}  // namespace

TEST_CASE("a single comparison with = is indexed and exportable", "[observables]") {
  CHECK(of("[ipv4-addr:value = '198.51.100.1']") ==
        std::vector{obs(k::ipv4, "198.51.100.1", true)});
  CHECK(of("[domain-name:value = 'Example.COM.']") ==
        std::vector{obs(k::domain, "example.com", true)});
  CHECK(of("[url:value = 'http://Example.com/A']") ==
        std::vector{obs(k::url, "http://Example.com/A", true)});
  CHECK(of("[email-addr:value = 'Bob@Example.com']") ==
        std::vector{obs(k::email, "Bob@Example.com", true)});
  CHECK(of("[ipv6-addr:value = '2001:DB8:0:0:0:0:0:1']") ==
        std::vector{obs(k::ipv6, "2001:db8::1", true)});
}

TEST_CASE("file hashes: the STIX algorithm names, case-sensitive", "[observables]") {
  const std::string sha256(64, 'A');
  const std::string sha1(40, 'b');
  const std::string md5(32, 'C');
  CHECK(of("[file:hashes.'SHA-256' = '" + sha256 + "']") ==
        std::vector{obs(k::sha256, std::string(64, 'a'), true)});
  CHECK(of("[file:hashes.'SHA-1' = '" + sha1 + "']") == std::vector{obs(k::sha1, sha1, true)});
  CHECK(of("[file:hashes.MD5 = '" + md5 + "']") ==
        std::vector{obs(k::md5, std::string(32, 'c'), true)});
  CHECK(of("[file:hashes.'MD5' = '" + md5 + "']") ==
        std::vector{obs(k::md5, std::string(32, 'c'), true)});
  // Other spellings are other dictionary keys.
  CHECK(of("[file:hashes.'sha-256' = '" + sha256 + "']").empty());
  CHECK(of("[file:hashes.SHA256 = '" + sha256 + "']").empty());
  CHECK(of("[file:hashes.md5 = '" + md5 + "']").empty());
  // Not a file's hashes.
  CHECK(of("[artifact:hashes.MD5 = '" + md5 + "']").empty());
}

TEST_CASE("OR lists are exportable, within and between observations", "[observables]") {
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.2' OR "
           "domain-name:value = 'a.example']") == std::vector{obs(k::ipv4, "10.0.0.1", true),
                                                              obs(k::ipv4, "10.0.0.2", true),
                                                              obs(k::domain, "a.example", true)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.2']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", true), obs(k::ipv4, "10.0.0.2", true)});
  CHECK(of("([ipv4-addr:value = '10.0.0.1'] OR ([ipv4-addr:value = '10.0.0.2' OR "
           "(ipv4-addr:value = '10.0.0.3')]))") == std::vector{obs(k::ipv4, "10.0.0.1", true),
                                                               obs(k::ipv4, "10.0.0.2", true),
                                                               obs(k::ipv4, "10.0.0.3", true)});
  // The same value twice is one observable.
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '010.0.0.1']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", true)});
}

TEST_CASE("AND, qualifiers, FOLLOWEDBY and other paths: indexed, not exportable", "[observables]") {
  CHECK(of("[ipv4-addr:value = '10.0.0.1' AND ipv4-addr:value = '10.0.0.2']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::ipv4, "10.0.0.2", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1'] AND [domain-name:value = 'x.example']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::domain, "x.example", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.2']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::ipv4, "10.0.0.2", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1'] WITHIN 5 SECONDS") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false)});
  CHECK(of("([ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.2']) REPEATS 2 TIMES") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::ipv4, "10.0.0.2", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1'] START t'2024-01-01T00:00:00Z' STOP "
           "t'2024-02-01T00:00:00Z'") == std::vector{obs(k::ipv4, "10.0.0.1", false)});
  // An OR with a comparison of another path or operator.
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR file:name = 'x.exe']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value != '10.0.0.2']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false)});
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value IN ('10.0.0.2')]") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false)});
  // An `=` inside an AND inside an OR: still indexed.
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR (domain-name:value = 'a.example' AND "
           "url:value = 'http://a.example/')]") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::domain, "a.example", false),
                    obs(k::url, "http://a.example/", false)});
}

TEST_CASE("operators other than = add nothing", "[observables]") {
  CHECK(of("[ipv4-addr:value != '10.0.0.1']").empty());
  CHECK(of("[ipv4-addr:value NOT = '10.0.0.1']").empty());
  CHECK(of("[domain-name:value LIKE '%.example']").empty());
  CHECK(of("[domain-name:value MATCHES '^a']").empty());
  CHECK(of("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]").empty());
  CHECK(of("[ipv4-addr:value ISSUPERSET '10.0.0.0/8']").empty());
  CHECK(of("[ipv4-addr:value > '10.0.0.1']").empty());
  // A path that is not a listed observable.
  CHECK(of("[network-traffic:dst_ref.value = '10.0.0.1']").empty());
  CHECK(of("[ipv4-addr:resolves_to_refs[*].value = 'aa:bb:cc:dd:ee:ff']").empty());
}

TEST_CASE("CIDRs with = and ISSUBSET, both address families", "[observables]") {
  CHECK(of("[ipv4-addr:value = '10.1.2.3/8']") ==
        std::vector{obs(k::ipv4, "10.0.0.0/8", true, true)});
  CHECK(of("[ipv4-addr:value ISSUBSET '192.168.0.0/16']") ==
        std::vector{obs(k::ipv4, "192.168.0.0/16", false, true)});
  CHECK(of("[ipv4-addr:value NOT ISSUBSET '192.168.0.0/16']").empty());
  CHECK(of("[ipv4-addr:value = '10.0.0.1/32']") == std::vector{obs(k::ipv4, "10.0.0.1", true)});
  CHECK(of("[ipv6-addr:value ISSUBSET '2001:DB8::/32']") ==
        std::vector{obs(k::ipv6, "2001:db8::/32", false, true)});
  CHECK(of("[ipv6-addr:value = '2001:db8::1/128']") ==
        std::vector{obs(k::ipv6, "2001:db8::1", true)});
  // ISSUBSET makes the OR list unexportable.
  CHECK(of("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value ISSUBSET '10.2.0.0/16']") ==
        std::vector{obs(k::ipv4, "10.0.0.1", false), obs(k::ipv4, "10.2.0.0/16", false, true)});
}

TEST_CASE("string constants: escapes and quoted path names", "[observables]") {
  CHECK(of(R"([url:value = 'http://x.example/it\'s'])") ==
        std::vector{obs(k::url, "http://x.example/it's", true)});
  CHECK(of(R"([url:value = 'http://x.example/a\\b'])") ==
        std::vector{obs(k::url, R"(http://x.example/a\b)", true)});
  CHECK(of("[ipv4-addr:'value' = '10.0.0.1']") == std::vector{obs(k::ipv4, "10.0.0.1", true)});
  // Values that are not of their kind are left out; the rest of the OR stays.
  CHECK(of("[ipv4-addr:value = 'not an address' OR ipv4-addr:value = '10.0.0.9']") ==
        std::vector{obs(k::ipv4, "10.0.0.9", true)});
}

TEST_CASE("patterns of another type and invalid patterns carry nothing", "[observables]") {
  std::string other = indicator("[ipv4-addr:value = '10.0.0.1']");
  other.replace(other.find("\"stix\""), 6, "\"snort\"");
  CHECK(observables_of(other).empty());
  CHECK(of("[ipv4-addr:value = ").empty());
  CHECK(observables_of("not json").empty());
  CHECK(observables_of(R"({"type":"malware","name":"x"})").empty());
}

TEST_CASE("SCOs carry their value and listed hashes, never exportable", "[observables]") {
  CHECK(observables_of(R"({"type":"ipv4-addr","id":"ipv4-addr--1","value":"10.0.0.0/24"})") ==
        std::vector{obs(k::ipv4, "10.0.0.0/24", false, true)});
  CHECK(observables_of(R"({"type":"ipv6-addr","id":"ipv6-addr--1","value":"::FFFF:1.2.3.4"})") ==
        std::vector{obs(k::ipv6, "::ffff:1.2.3.4", false)});
  CHECK(observables_of(R"({"type":"domain-name","id":"domain-name--1","value":"A.Example."})") ==
        std::vector{obs(k::domain, "a.example", false)});
  CHECK(observables_of(R"({"type":"email-addr","id":"email-addr--1","value":"a@b.example"})") ==
        std::vector{obs(k::email, "a@b.example", false)});
  CHECK(observables_of(R"({"type":"url","id":"url--1","value":"https://a.example/"})") ==
        std::vector{obs(k::url, "https://a.example/", false)});
  auto file = observables_of(R"({"type":"file","id":"file--1","hashes":{"MD5":")" +
                             std::string(32, 'A') + R"(","SHA-256":")" + std::string(64, 'b') +
                             R"(","SHA-512":")" + std::string(128, 'c') + R"("}})");
  std::sort(file.begin(), file.end(),
            [](const observable& a, const observable& b) { return a.kind < b.kind; });
  CHECK(file == std::vector{obs(k::sha256, std::string(64, 'b'), false),
                            obs(k::md5, std::string(32, 'a'), false)});
}

TEST_CASE("normal forms of IPv4 and IPv4 CIDRs", "[observables]") {
  CHECK(normal(k::ipv4, "192.0.2.1") == "192.0.2.1");
  CHECK(normal(k::ipv4, "192.000.002.001") == "192.0.2.1");
  CHECK(normal(k::ipv4, "10.1.2.3/8") == "10.0.0.0/8");
  CHECK(normal(k::ipv4, "10.1.2.3/32") == "10.1.2.3");
  CHECK(normal(k::ipv4, "10.1.2.3/0") == "0.0.0.0/0");
  CHECK(normal(k::ipv4, "10.1.2.255/31") == "10.1.2.254/31");
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/33", "1.2.3.4/", "a.b.c.d",
                          "1.2.3.4 ", "", "1..2.3", "0001.2.3.4"}) {
    INFO(bad);
    CHECK_FALSE(normalise_observable(k::ipv4, bad).has_value());
  }
  CHECK(normalise_observable(k::ipv4, "1.2.3").error().message ==
        "'1.2.3' is not an IPv4 address or CIDR");
}

TEST_CASE("normal forms of IPv6 per RFC 5952", "[observables]") {
  CHECK(normal(k::ipv6, "2001:0DB8:0000:0000:0000:0000:0000:0001") == "2001:db8::1");
  CHECK(normal(k::ipv6, "2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");     // first longest run
  CHECK(normal(k::ipv6, "2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");  // one zero stays
  CHECK(normal(k::ipv6, "0:0:0:0:0:0:0:0") == "::");
  CHECK(normal(k::ipv6, "0:0:0:0:0:0:0:1") == "::1");
  CHECK(normal(k::ipv6, "1:0:0:0:0:0:0:0") == "1::");
  CHECK(normal(k::ipv6, "2001:db8:0:0:0:0:2:1") == "2001:db8::2:1");
  CHECK(normal(k::ipv6, "::ffff:c000:0201") == "::ffff:192.0.2.1");
  CHECK(normal(k::ipv6, "2001:db8::1/32") == "2001:db8::/32");
  CHECK(normal(k::ipv6, "2001:db8:ffff::/33") == "2001:db8:8000::/33");
  CHECK(normal(k::ipv6, "::1/128") == "::1");
  for (const char* bad :
       {"2001:db8::1::2", "fe80::1%eth0", "[::1]", "::1/129", "12345::", "1.2.3.4", "g::1"}) {
    INFO(bad);
    CHECK_FALSE(normalise_observable(k::ipv6, bad).has_value());
  }
}

TEST_CASE("normal forms of names and hashes, URLs and emails as given", "[observables]") {
  CHECK(normal(k::domain, "WWW.Example.Org.") == "www.example.org");
  CHECK_FALSE(normalise_observable(k::domain, ".").has_value());
  CHECK_FALSE(normalise_observable(k::domain, "a b.example").has_value());
  CHECK(normal(k::sha256, std::string(64, 'F')) == std::string(64, 'f'));
  CHECK_FALSE(normalise_observable(k::sha256, std::string(63, 'f')).has_value());
  CHECK_FALSE(normalise_observable(k::sha1, std::string(40, 'g')).has_value());
  CHECK(normal(k::md5, std::string(32, 'E')) == std::string(32, 'e'));
  CHECK(normal(k::url, "HTTP://Example.com/X") == "HTTP://Example.com/X");
  CHECK(normal(k::email, "Bob@Example.COM") == "Bob@Example.COM");
  CHECK_FALSE(normalise_observable(k::email, "bob").has_value());
  CHECK_FALSE(normalise_observable(k::url, "").has_value());
}

TEST_CASE("the networks that contain an address", "[observables]") {
  const auto v4 = containing_networks(k::ipv4, "10.1.2.3");
  REQUIRE(v4.size() == 32);
  CHECK(v4[0] == "0.0.0.0/0");
  CHECK(v4[8] == "10.0.0.0/8");
  CHECK(v4[31] == "10.1.2.2/31");
  const auto v6 = containing_networks(k::ipv6, "2001:db8::1");
  REQUIRE(v6.size() == 128);
  CHECK(v6[32] == "2001:db8::/32");
  CHECK(v6[127] == "2001:db8::/127");
  // A network: the wider ones.
  CHECK(containing_networks(k::ipv4, "10.0.0.0/8") ==
        std::vector<std::string>{"0.0.0.0/0", "0.0.0.0/1", "0.0.0.0/2", "0.0.0.0/3", "0.0.0.0/4",
                                 "8.0.0.0/5", "8.0.0.0/6", "10.0.0.0/7"});
  CHECK(containing_networks(k::ipv6, "2001:db8::/32").size() == 32);
  CHECK(containing_networks(k::ipv4, "10.0.0.0/0").empty());
  CHECK(containing_networks(k::domain, "a.example").empty());
}

TEST_CASE("lookup candidates of an untyped value", "[observables]") {
  using cand = std::vector<std::pair<k, std::string>>;
  CHECK(observable_candidates("010.0.0.1") == cand{{k::ipv4, "10.0.0.1"}});
  CHECK(observable_candidates("2001:DB8::1") == cand{{k::ipv6, "2001:db8::1"}});
  CHECK(observable_candidates(std::string(64, 'A')) == cand{{k::sha256, std::string(64, 'a')}});
  CHECK(observable_candidates(std::string(40, '1')) == cand{{k::sha1, std::string(40, '1')}});
  CHECK(observable_candidates(std::string(32, 'b')) == cand{{k::md5, std::string(32, 'b')}});
  CHECK(observable_candidates("Mail.Example.") == cand{{k::domain, "mail.example"}});
  CHECK(observable_candidates("a@b.example") == cand{{k::email, "a@b.example"}});
  CHECK(observable_candidates("https://b.example/x") == cand{{k::url, "https://b.example/x"}});
  CHECK(observable_candidates("nodots").empty());
  CHECK(observable_kinds_of_type("file") == std::vector<k>{k::sha256, k::sha1, k::md5});
  CHECK(observable_kinds_of_type("ipv4-addr") == std::vector<k>{k::ipv4});
  CHECK_FALSE(observable_kinds_of_type("indicator").has_value());
  CHECK(observable_type_name(k::md5) == "file");
  CHECK(observable_type_name(k::email) == "email-addr");
}

TEST_CASE("the pattern tree keeps structure, operators and constants", "[stix_pattern]") {
  auto tree = parse_stix_pattern(
      R"(([a-b:c.'d-e'[*] = 'it\'s' AND x-y:z IN (1, 'q')] OR [u-v:w NOT LIKE 'p%']) )"
      R"(WITHIN 5 SECONDS FOLLOWEDBY [NOT EXISTS f-g:h])");
  REQUIRE(tree);
  using nk = pattern_node::kind;
  REQUIRE(tree->type == nk::followed_by);
  REQUIRE(tree->children.size() == 2);
  const auto& group = tree->children[0];
  CHECK(group.type == nk::observation_or);
  REQUIRE(group.qualifiers.size() == 1);
  CHECK(group.qualifiers[0].kind == pattern_qualifier_kind::within);
  CHECK(group.qualifiers[0].arguments == std::vector<std::string>{"5"});
  REQUIRE(group.children.size() == 2);
  const auto& first = group.children[0];
  REQUIRE(first.type == nk::observation);
  const auto& conj = first.children[0];
  REQUIRE(conj.type == nk::comparison_and);
  REQUIRE(conj.children.size() == 2);
  const auto& c0 = conj.children[0].comparison;
  CHECK(c0.object_type == "a-b");
  CHECK(c0.path == std::vector<pattern_path_step>{{false, "c"}, {false, "d-e"}, {true, "*"}});
  CHECK(c0.op == pattern_operator::eq);
  REQUIRE(c0.constants.size() == 1);
  CHECK(c0.constants[0].text == "it's");
  const auto& c1 = conj.children[1].comparison;
  CHECK(c1.op == pattern_operator::in);
  REQUIRE(c1.constants.size() == 2);
  CHECK(c1.constants[0].kind == pattern_constant_kind::integer);
  CHECK(c1.constants[1].text == "q");
  const auto& like = group.children[1].children[0].comparison;
  CHECK(like.op == pattern_operator::like);
  CHECK(like.negated);
  const auto& exists = tree->children[1].children[0].comparison;
  CHECK(exists.op == pattern_operator::exists);
  CHECK(exists.negated);
  CHECK(exists.constants.empty());
  // The parser's errors are validate_stix_pattern()'s.
  CHECK(parse_stix_pattern("[a:b = ]").error().message ==
        validate_stix_pattern("[a:b = ]").error().message);
}

TEST_CASE("validation finds the observables observables_of finds, over the corpus",
          "[observables][corpus]") {
  const std::filesystem::path corpus{CAIRN_CORPUS_DIR};
  json_limits limits;
  limits.max_bytes = 16u << 20;
  std::size_t objects = 0, carrying = 0;
  for (const auto& e : std::filesystem::directory_iterator(corpus / "valid")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().filename().string());
    auto parsed = parse_stix_content(read_file(e.path()), limits, 100000);
    REQUIRE(parsed);
    objects += parsed->size();
    carrying += check_validation_agrees(*parsed);
  }
  CHECK(objects == 498);
  CHECK(carrying > 10);  // the corpus has indicators and SCOs with listed values

  // Every pattern of patterns-valid.txt as an indicator's pattern.
  std::istringstream lines(read_file(corpus / "patterns-valid.txt"));
  std::string envelope = R"({"objects":[)";
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (n++ > 0) envelope += ',';
    envelope += indicator(line);
  }
  envelope += "]}";
  auto parsed = parse_envelope(envelope, {}, 1000);
  REQUIRE(parsed);
  CHECK(parsed->size() == n);
  CHECK(check_validation_agrees(*parsed) > 0);
}

TEST_CASE("validation finds the observables observables_of finds, synthetic objects",
          "[observables]") {
  const std::string patterns[] = {
      "[ipv4-addr:value = '10.0.0.1']",
      "[ipv4-addr:value = '10.0.0.1'] OR [ipv6-addr:value = '2001:DB8::1/64']",
      "[domain-name:value = 'A.Example.' OR url:value = 'https://x.example/']",
      "[email-addr:value = 'a@b.example' AND file:hashes.MD5 = '" + std::string(32, 'F') + "']",
      "[file:hashes.'SHA-256' = '" + std::string(64, 'a') + "'] WITHIN 5 SECONDS",
      "[ipv4-addr:value ISSUBSET '10.1.2.3/8'] FOLLOWEDBY [ipv4-addr:value = '10.1.2.3']",
      "[ipv4-addr:value != '10.0.0.1' AND ipv4-addr:value NOT = '10.0.0.2']",
      "[ipv4-addr:value = 'not an address' OR ipv4-addr:value = '10.0.0.9']",
      "[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '010.000.000.001']",
      "[file:name = 'x.exe']",
  };
  std::string envelope = R"({"objects":[)";
  for (const auto& p : patterns) envelope += indicator(p) + ",";
  std::string snort = indicator("[ipv4-addr:value = '10.0.0.1']");
  snort.replace(snort.find("\"stix\""), 6, "\"snort\"");
  envelope += snort + ",";
  envelope +=
      R"({"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"10.0.0.0/24"},)"
      R"({"type":"domain-name","spec_version":"2.1","id":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","value":"Example.COM"},)"
      R"({"type":"file","spec_version":"2.1","id":"file--5a27d487-c542-5f97-a131-a8866b477b46","hashes":{"MD5":")" +
      std::string(32, 'A') + R"(","SHA-1":")" + std::string(40, 'b') +
      R"("}},)"
      R"({"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",)"
      R"("created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"10.0.0.1","is_family":false}]})";
  auto parsed = parse_envelope(envelope, {}, 100);
  REQUIRE(parsed);
  REQUIRE(parsed->size() == std::size(patterns) + 5);
  for (const auto& p : *parsed) {
    INFO(p.problem.to_string());
    CHECK(p.info.has_value());
  }
  CHECK(check_validation_agrees(*parsed) == std::size(patterns) - 2 + 3);
}

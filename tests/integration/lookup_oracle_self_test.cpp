// The lookup oracle (lookup_oracle.hpp) checked by hand before it judges
// cairnd: patterns whose exported values and lookup answers were worked out
// from STIX 2.1 section 9 and INTERFACE.md, normal forms from RFC 5952 and
// the contract, and the CSV reader on RFC 4180 cases.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "lookup_oracle.hpp"

namespace lo = cairn::testing::lookup_oracle;

TEST_CASE("lookup oracle: hand-checked patterns", "[lookup][oracle]") {
  using lo::kind;
  auto v = [](kind k, std::string t, bool cidr = false) {
    return lo::value{k, std::move(t), cidr};
  };
  struct row {
    std::string pattern;
    std::set<lo::value> exported;
    std::vector<std::string> matching;      // lookup values (no type) that match
    std::vector<std::string> not_matching;  // and that do not
  };
  const std::string sha = "AbCdEf0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789";
  const std::string sha_lower = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
  const std::vector<row> rows = {
      {"[ipv4-addr:value = '198.51.100.7']",
       {v(kind::ipv4, "198.51.100.7")},
       {"198.51.100.7"},
       {"198.51.100.8"}},
      {"[ipv4-addr:'value'='198.51.100.7/32']",
       {v(kind::ipv4, "198.51.100.7")},
       {"198.51.100.7"},
       {}},
      {"[ipv4-addr:value = '10.1.2.3/16']",
       {v(kind::ipv4, "10.1.0.0/16", true)},
       {"10.1.0.0/16", "10.1.255.254", "10.1.2.3", "10.1.3.3/16", "10.1.128.0/17"},
       {"10.2.0.1", "10.0.0.0/8"}},
      {"[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'Example.COM.']",
       {v(kind::ipv4, "1.2.3.4"), v(kind::domain, "example.com")},
       {"1.2.3.4", "EXAMPLE.com", "example.com."},
       {"www.example.com"}},
      {"([ipv6-addr:value = '2001:0DB8:0000:0000:0000:0000:0000:0001'] OR [url:value = "
       "'http://x.test/it\\'s\\\\'])",
       {v(kind::ipv6, "2001:db8::1"), v(kind::url, "http://x.test/it's\\")},
       {"2001:db8:0:0::1", "http://x.test/it's\\"},
       {"http://X.test/it's\\"}},
      {"[ipv6-addr:value = '2001:db8:0:0:1:0:0:1']",
       {v(kind::ipv6, "2001:db8::1:0:0:1")},
       {"2001:DB8::1:0:0:1"},
       {}},
      {"[ipv6-addr:value = '2001:db8:0:1:0:0:0:0/64']",
       {v(kind::ipv6, "2001:db8:0:1::/64", true)},
       {"2001:db8:0:1:ffff::9"},
       {"2001:db8:0:2::9"}},
      {"[email-addr:value = 'Alice@Example.com']",
       {v(kind::email, "Alice@Example.com")},
       {"Alice@Example.com"},
       {"alice@example.com"}},
      {"[file:hashes.'SHA-256' = '" + sha + "']",
       {v(kind::sha256, sha_lower)},
       {sha_lower, sha},
       {}},
      {"[file:hashes.MD5 = '0123456789ABCDEF0123456789abcdef' OR file:hashes.'SHA-1' = "
       "'0123456789abcdef0123456789abcdef01234567']",
       {v(kind::md5, "0123456789abcdef0123456789abcdef"),
        v(kind::sha1, "0123456789abcdef0123456789abcdef01234567")},
       {"0123456789abcdef0123456789ABCDEF"},
       {}},
      // Not exported, but matched by lookups.
      {"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value != '1.2.3.5']",
       {},
       {"1.2.3.4"},
       {"1.2.3.5"}},
      {"[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'a.test']",
       {},
       {"1.2.3.4", "a.test"},
       {}},
      {"[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '5.6.7.8']",
       {},
       {"1.2.3.4", "5.6.7.8"},
       {}},
      {"[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", {}, {"1.2.3.4"}, {}},
      {"([ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '1.2.3.5']) REPEATS 2 TIMES",
       {},
       {"1.2.3.4", "1.2.3.5"},
       {}},
      {"[ipv4-addr:value = '1.2.3.4' OR file:name = 'a.exe']", {}, {"1.2.3.4"}, {}},
      {"[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
       {},
       {"10.200.1.1", "10.0.0.0/8"},
       {"11.0.0.1", "0.0.0.0/0"}},
      // Nothing at all.
      {"[ipv4-addr:value != '1.2.3.4']", {}, {}, {"1.2.3.4"}},
      {"[ipv4-addr:value NOT = '1.2.3.4']", {}, {}, {"1.2.3.4"}},
      {"[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", {}, {}, {"10.0.0.1"}},
      {"[ipv4-addr:value ISSUPERSET '10.0.0.0/8']", {}, {}, {"10.0.0.1"}},
      {"[ipv4-addr:value IN ('1.2.3.4', '1.2.3.5')]", {}, {}, {"1.2.3.4"}},
      {"[domain-name:value LIKE '%.a.test']", {}, {}, {"b.a.test"}},
      {"[url:value MATCHES '^http://a\\\\.test']", {}, {}, {"http://a.test"}},
      {"[domain-name:resolves_to_refs[*].value = '1.2.3.4']", {}, {}, {"1.2.3.4"}},
      {"[network-traffic:dst_ref.value = '1.2.3.4']", {}, {}, {"1.2.3.4"}},
      {"[file:hashes.'SHA-512' = '" + sha + sha + "']", {}, {}, {}},
  };
  for (const auto& r : rows) {
    INFO(r.pattern);
    const auto f = lo::analyse(r.pattern);
    INFO(f.error);
    REQUIRE(f.valid);
    CHECK(f.exported == r.exported);
    for (const auto& m : r.matching) {
      INFO("lookup " << m);
      const auto c = lo::candidates(m);
      REQUIRE(c.size() == 1);
      CHECK(lo::matches(f, c[0]));
    }
    for (const auto& m : r.not_matching) {
      INFO("lookup " << m);
      const auto c = lo::candidates(m);
      REQUIRE(c.size() == 1);
      CHECK_FALSE(lo::matches(f, c[0]));
    }
  }
  // Broken patterns are not silently read as something.
  for (const char* bad : {"[ipv4-addr:value = '1.2.3.4'", "ipv4-addr:value = '1.2.3.4'",
                          "[ipv4-addr:value = '1.2\\x']", "[ipv4-addr:value]"}) {
    INFO(bad);
    CHECK_FALSE(lo::analyse(bad).valid);
  }
}

TEST_CASE("lookup oracle: normal forms and lookup candidates", "[lookup][oracle]") {
  using lo::kind;
  const std::vector<std::tuple<kind, std::string, std::string>> forms = {
      {kind::ipv4, "192.0.2.1", "192.0.2.1"},
      {kind::ipv4, "192.0.2.1/32", "192.0.2.1"},
      {kind::ipv4, "192.0.2.77/24", "192.0.2.0/24"},
      {kind::ipv4, "0.0.0.0/0", "0.0.0.0/0"},
      {kind::ipv6, "2001:DB8::1", "2001:db8::1"},
      {kind::ipv6, "2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
      {kind::ipv6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // one zero group stays
      {kind::ipv6, "2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longer run
      {kind::ipv6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of equal runs
      {kind::ipv6, "::", "::"},
      {kind::ipv6, "::1", "::1"},
      {kind::ipv6, "fe80::1:2/10", "fe80::/10"},
      {kind::ipv6, "2001:db8::1/128", "2001:db8::1"},
      {kind::ipv6, "::ffff:192.0.2.1", "::ffff:c000:201"},
      {kind::domain, "WWW.Example.COM.", "www.example.com"},
      {kind::url, "HTTP://Example.com/A", "HTTP://Example.com/A"},
      {kind::email, "Bob@Example.com", "Bob@Example.com"},
      {kind::md5, "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdef"},
  };
  for (const auto& [k, in, out] : forms) {
    INFO(in);
    auto v = lo::normalise(k, in);
    REQUIRE(v);
    CHECK(v->text == out);
  }
  for (const char* bad : {"192.0.2", "192.0.2.256", "192.0.2.1/33", "01.2.3.4"}) {
    CHECK_FALSE(lo::normalise(kind::ipv4, bad));
  }
  for (const char* bad : {"2001:db8::1::2", "1:2:3:4:5:6:7", "12345::", "2001:db8::/129", ":1::"}) {
    INFO(bad);
    CHECK_FALSE(lo::normalise(kind::ipv6, bad));
  }
  CHECK_FALSE(lo::normalise(kind::sha1, "0123456789abcdef0123456789abcdef"));
  CHECK(lo::candidates("a.test")[0].k == kind::domain);
  CHECK(lo::candidates("https://a.test/x")[0].k == kind::url);
  CHECK(lo::candidates("x@a.test")[0].k == kind::email);
  CHECK(lo::candidates(std::string(40, 'a'))[0].k == kind::sha1);
  CHECK(lo::candidates(std::string(40, 'a'), "file").size() == 1);
  CHECK(lo::candidates("1.2.3.4", "domain-name").size() == 1);
  CHECK(lo::candidates("not an ip", "ipv4-addr").empty());
  CHECK(lo::contains(*lo::parse_ipv4("10.0.0.0/8"), *lo::parse_ipv4("10.255.0.1")));
  CHECK_FALSE(lo::contains(*lo::parse_ipv4("10.0.0.0/8"), *lo::parse_ipv4("11.0.0.1")));
  bool crlf = false;
  auto rows = lo::parse_csv("a,b\r\n\"x,\"\"y\"\"\",2\r\n", &crlf);
  REQUIRE(rows);
  CHECK(crlf);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[1][0] == "x,\"y\"");
  CHECK_FALSE(lo::parse_csv("a,b\"c\r\n"));
}

// Lookup, exports and exposure against an independent oracle
// (lookup_oracle.hpp: its own pattern parser and normal forms, written from
// STIX 2.1 section 9 and INTERFACE.md, nothing of formats/ but JSON).
//
// The oracle's view of the exchange is what the test published: every
// version with its publisher, TLP level (its TLP marking, else the
// collection's default_tlp), revocation, validity window and pattern. An
// account may see a version if its clearance is at least the level or it
// published that version, in collections it can read. Lookup: per object,
// the latest version the account may see, listed if that version's pattern
// (or SCO value) matches. Exports: per indicator, the latest version the
// account may see, if current (not revoked, valid_from passed, valid_until
// absent or in the future), with the values its pattern exports.
//
// The property test publishes a few thousand random indicators (seeded; the
// seed is printed, CAIRN_ORACLE_SEED=N repeats a run) over TAXII to the real
// cairnd, then asks lookup and every export format as every account and
// counts the differences. There must be none.
#include "lookup_oracle.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <set>

#include "clients/http.hpp"
#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
namespace lo = cairn::testing::lookup_oracle;

namespace {

// ---------------------------------------------------------------- TLP

constexpr int k_clear = 0;
constexpr int k_green = 1;
constexpr int k_amber = 2;
constexpr int k_amber_strict = 3;
constexpr int k_red = 4;

const char* const k_level_names[] = {"clear", "green", "amber", "amber+strict", "red"};

// The TLP 2.0 marking-definitions, and TLP 1.0 (STIX 2.1 7.2.1.4).
const std::vector<std::pair<std::string, int>> k_tlp_ids = {
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", k_clear},
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", k_green},
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", k_amber},
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", k_amber_strict},
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", k_red},
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", k_clear},  // 1.0 WHITE
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", k_green},  // 1.0 GREEN
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", k_amber},  // 1.0 AMBER
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", k_red},    // 1.0 RED
};

int level_by_name(const std::string& name) {
  if (name == "clear" || name == "white") return k_clear;
  if (name == "green") return k_green;
  if (name == "amber" || name.empty()) return k_amber;
  if (name == "amber+strict") return k_amber_strict;
  return k_red;
}

// ---------------------------------------------------------------- the model

struct version {
  std::string collection;  // alias
  std::string id;
  std::string type;      // indicator, or an SCO type
  std::string modified;  // the TAXII version (SCOs: read back)
  std::string publisher;
  std::string marking;
  int level = k_amber;
  bool revoked = false;
  std::string valid_from;
  std::string valid_until;  // empty: none
  std::optional<int> confidence;
  std::string pattern;
  std::string pattern_type = "stix";
  std::string shape;  // what the generator made, for reports
  std::string json;
  lo::pattern_facts facts;  // indicators
  std::set<lo::value> sco;  // SCOs: their values
};

struct account {
  std::string name;
  int clearance = k_clear;
  std::set<std::string> read;  // aliases
  std::set<std::string> write;
};

struct model {
  std::map<std::string, std::string> ids;  // alias -> collection id
  std::map<std::string, int> defaults;     // alias -> level
  std::map<std::string, account> accounts;
  // alias -> object id -> versions
  std::map<std::string, std::map<std::string, std::vector<version>>> objects;
  std::int64_t now = 0;

  bool may_see(const account& a, const version& v) const {
    return a.read.contains(v.collection) && (a.clearance >= v.level || v.publisher == a.name);
  }

  // The latest version of an object the account may see.
  const version* latest(const account& a, const std::vector<version>& versions) const {
    const version* best = nullptr;
    for (const auto& v : versions) {
      if (may_see(a, v) && (!best || v.modified > best->modified)) best = &v;
    }
    return best;
  }
};

// ---------------------------------------------------------------- time

std::string stix_time(std::int64_t seconds, int millis = 0) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool current(const version& v, std::int64_t now) {
  return !v.revoked && v.valid_from <= stix_time(now) &&
         (v.valid_until.empty() || v.valid_until > stix_time(now));
}

// ---------------------------------------------------------------- the generator

// Values drawn from small pools so that values repeat across indicators,
// each kept with the ways the generator may write it in a pattern.
struct pools {
  std::vector<std::string> ipv4, ipv4_nets, ipv6, ipv6_nets, domains, urls, emails, sha256, sha1,
      md5;
  std::vector<std::string> absent;  // lookup values no pattern holds
};

std::string hex_string(std::mt19937& rng, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += digits[rng() % 16];
  return s;
}

std::string uuid(std::mt19937& rng) {
  auto h = hex_string(rng, 32);
  h[12] = '4';
  h[16] = "89ab"[rng() % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string ipv4_text(unsigned a, unsigned b, unsigned c, unsigned d) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
         std::to_string(d);
}

pools make_pools(std::mt19937& rng) {
  pools p;
  std::set<std::string> seen;
  auto add = [&](std::vector<std::string>& to, std::string v) {
    if (seen.insert(v).second) to.push_back(std::move(v));
  };
  static const unsigned nets[][3] = {{198, 51, 100}, {203, 0, 113}, {192, 0, 2}};
  while (p.ipv4.size() < 140) {
    const auto& n = nets[rng() % 3];
    add(p.ipv4, ipv4_text(n[0], n[1], n[2], rng() % 256));
  }
  for (int i = 0; i < 12; ++i) add(p.ipv4, ipv4_text(10, rng() % 4, rng() % 256, rng() % 256));
  // Networks: some in 10/8 (which some addresses above fall into), some
  // around the documentation ranges, written with host bits set at times.
  for (int i = 0; i < 14; ++i) {
    const int prefix = 8 + static_cast<int>(rng() % 23);  // 8..30
    add(p.ipv4_nets, ipv4_text(10, rng() % 4, rng() % 256, rng() % 256) + "/" +
                         std::to_string(prefix < 14 ? 14 : prefix));
  }
  for (int i = 0; i < 8; ++i) {
    const auto& n = nets[rng() % 3];
    add(p.ipv4_nets,
        ipv4_text(n[0], n[1], n[2], rng() % 256) + "/" + std::to_string(24 + rng() % 6));
  }
  auto v6 = [&](bool sparse) {
    std::array<unsigned, 8> g{0x2001, 0xdb8};
    for (std::size_t i = 2; i < 8; ++i) g[i] = sparse && rng() % 2 ? 0 : rng() % 0x10000;
    if (rng() % 3 == 0) g[static_cast<std::size_t>(2 + rng() % 6)] = rng() % 16;
    return g;
  };
  auto full = [](const std::array<unsigned, 8>& g) {
    std::string s;
    char buf[8];
    for (std::size_t i = 0; i < 8; ++i) {
      std::snprintf(buf, sizeof buf, "%x", g[i]);
      s += (i ? ":" : "") + std::string(buf);
    }
    return s;
  };
  while (p.ipv6.size() < 70) add(p.ipv6, full(v6(true)));
  for (int i = 0; i < 10; ++i) {
    auto g = v6(false);
    add(p.ipv6_nets, full(g) + "/" + std::to_string(32 + 16 * (rng() % 3) + rng() % 8));
  }
  // The edges of prefix structures: the whole space, one bit, the last bit.
  for (const char* net : {"0.0.0.0/0", "192.0.0.0/2", "198.51.100.6/31", "203.0.113.0/31"}) {
    add(p.ipv4_nets, net);
  }
  for (const char* net : {"::/0", "2001:db8::/32", "2001:db8:0:1::/127", "2000::/3"}) {
    add(p.ipv6_nets, net);
  }
  static const char* tlds[] = {"example.com", "example.org", "example.net", "test", "invalid"};
  static const char* words[] = {"alpha", "bravo",  "cdn", "mail",   "login", "update",
                                "files", "secure", "api", "portal", "x-ray", "zulu9"};
  while (p.domains.size() < 110) {
    std::string d = words[rng() % 12];
    if (rng() % 2) d += std::string(".") + words[rng() % 12];
    d += std::to_string(rng() % 50) + "." + tlds[rng() % 5];
    add(p.domains, d);
  }
  // URLs: as given, so case differences are different values; a few carry
  // characters that need escaping in a pattern (' and \) or quoting in CSV
  // (, and "), and some differ only in their scheme.
  while (p.urls.size() < 70) {
    const auto& host = p.domains[rng() % p.domains.size()];
    std::string path = "/" + std::string(words[rng() % 12]) + std::to_string(rng() % 100);
    switch (rng() % 8) {
      case 0: path += "?a=1,b=2"; break;
      case 1: path += "/it's"; break;
      case 2: path += "/a\\b"; break;
      case 3: path += "/say-\"hi\""; break;
      case 4: path += "/%20x"; break;
      default: break;
    }
    const std::string scheme = rng() % 3 ? "http://" : "https://";
    add(p.urls, scheme + host + path);
    if (rng() % 6 == 0) add(p.urls, (scheme == "http://" ? "https://" : "http://") + host + path);
    if (rng() % 8 == 0) {
      std::string upper = scheme + host + path;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      add(p.urls, upper);
    }
  }
  while (p.emails.size() < 50) {
    std::string local = std::string(words[rng() % 12]) + std::to_string(rng() % 30);
    if (rng() % 10 == 0) local = "o'" + local;
    const auto& host = p.domains[rng() % p.domains.size()];
    add(p.emails, local + "@" + host);
    if (rng() % 6 == 0) {
      std::string other = local + "@" + host;
      other[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(other[0])));
      add(p.emails, other);
    }
  }
  while (p.sha256.size() < 50) add(p.sha256, hex_string(rng, 64));
  while (p.sha1.size() < 40) add(p.sha1, hex_string(rng, 40));
  while (p.md5.size() < 40) add(p.md5, hex_string(rng, 32));
  // Values of every kind that no pattern holds.
  for (int i = 0; i < 6; ++i) {
    add(p.absent, ipv4_text(100, 64 + rng() % 64, rng() % 256, rng() % 256));
    add(p.absent, "2001:db9:" + std::to_string(rng() % 9000 + 1) + "::1");
    add(p.absent, "nowhere" + std::to_string(rng() % 1000) + ".example.com");
    add(p.absent, "http://nowhere.example.com/" + std::to_string(rng() % 1000));
    add(p.absent, "nobody" + std::to_string(rng() % 1000) + "@example.com");
    add(p.absent, hex_string(rng, 64));
    add(p.absent, hex_string(rng, 40));
    add(p.absent, hex_string(rng, 32));
  }
  return p;
}

// Ways of writing a value that the standards call equal to it.
std::string random_case(std::mt19937& rng, const std::string& s) {
  std::string out = s;
  const auto mode = rng() % 3;
  for (auto& c : out) {
    if (mode == 1 || (mode == 2 && rng() % 2)) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::string v6_variant(std::mt19937& rng, const std::string& canonical_full) {
  auto net = lo::parse_ipv6(canonical_full);
  std::array<unsigned, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = (net->bytes[2 * i] << 8) | net->bytes[2 * i + 1];
  std::string suffix = net->prefix != 128 ? "/" + std::to_string(net->prefix) : std::string();
  char buf[8];
  std::string s;
  switch (rng() % 5) {
    case 4: {  // the last 32 bits in dotted decimal (RFC 4291 2.2, form 3)
      for (std::size_t i = 0; i < 6; ++i) {
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        s += std::string(buf) + ":";
      }
      s += ipv4_text(g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff);
      break;
    }
    case 0:  // every group, four digits
      for (std::size_t i = 0; i < 8; ++i) {
        std::snprintf(buf, sizeof buf, "%04x", g[i]);
        s += (i ? ":" : "") + std::string(buf);
      }
      break;
    case 1:  // every group, no compression
      for (std::size_t i = 0; i < 8; ++i) {
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        s += (i ? ":" : "") + std::string(buf);
      }
      break;
    case 2: {  // compress the first zero run, whatever its length
      std::size_t i = 0;
      while (i < 8 && g[i] != 0) ++i;
      if (i == 8) return random_case(rng, lo::render(*net));
      std::size_t j = i;
      while (j < 8 && g[j] == 0) ++j;
      std::string head, tail;
      for (std::size_t k = 0; k < i; ++k) {
        std::snprintf(buf, sizeof buf, "%x", g[k]);
        head += (k ? ":" : "") + std::string(buf);
      }
      for (std::size_t k = j; k < 8; ++k) {
        std::snprintf(buf, sizeof buf, "%x", g[k]);
        tail += (k > j ? ":" : "") + std::string(buf);
      }
      s = head + "::" + tail;
      break;
    }
    default: s = lo::render(*net); break;
  }
  if (!suffix.empty() && s.find('/') == std::string::npos) s += suffix;
  return random_case(rng, s);
}

// A network written with some host bits set.
std::string v4_net_variant(std::mt19937& rng, const std::string& net) {
  auto n = lo::parse_ipv4(net);
  for (int bit = n->prefix; bit < 32; ++bit) {
    if (rng() % 2)
      n->bytes[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80u >> (bit % 8));
  }
  return ipv4_text(n->bytes[0], n->bytes[1], n->bytes[2], n->bytes[3]) + "/" +
         std::to_string(n->prefix);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

struct pattern_maker {
  std::mt19937& rng;
  const pools& p;

  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[rng() % v.size()];
  }
  std::string op_eq() { return rng() % 5 == 0 ? "=" : " = "; }

  // A comparison of a listed observable with `=`, written in one of its forms.
  std::string eq() {
    switch (rng() % 11) {
      case 0:
      case 1: {
        const auto r = rng() % 10;
        std::string v = pick(p.ipv4);
        if (r == 0) v += "/32";
        if (r == 1) v = v4_net_variant(rng, pick(p.ipv4_nets));
        return std::string(rng() % 8 ? "ipv4-addr:value" : "ipv4-addr:'value'") + op_eq() +
               quote(v);
      }
      case 2: {
        const std::string v = rng() % 8 ? pick(p.ipv6) : pick(p.ipv6_nets);
        return "ipv6-addr:value" + op_eq() + quote(v6_variant(rng, v));
      }
      case 3:
      case 4: {
        std::string d = random_case(rng, pick(p.domains));
        if (rng() % 6 == 0) d += ".";
        return "domain-name:value" + op_eq() + quote(d);
      }
      case 5:
      case 6: return "url:value" + op_eq() + quote(pick(p.urls));
      case 7: return "email-addr:value" + op_eq() + quote(pick(p.emails));
      case 8: return "file:hashes.'SHA-256'" + op_eq() + quote(random_case(rng, pick(p.sha256)));
      case 9: return "file:hashes.'SHA-1'" + op_eq() + quote(random_case(rng, pick(p.sha1)));
      default:
        return std::string(rng() % 2 ? "file:hashes.MD5" : "file:hashes.'MD5'") + op_eq() +
               quote(random_case(rng, pick(p.md5)));
    }
  }

  // A comparison that adds nothing to exports (and, but for ISSUBSET, to
  // lookups): another operator, a negation, or a path that is not listed.
  std::string other() {
    switch (rng() % 17) {
      // Keys that are not the vocabulary's 'SHA-256' (hash-algorithm-ov).
      case 15: return "file:hashes.SHA256 = " + quote(pick(p.sha256));
      case 16: return "file:hashes.'sha-256' = " + quote(pick(p.sha256));
      case 0: return "ipv4-addr:value != " + quote(pick(p.ipv4));
      case 1: return "ipv4-addr:value NOT = " + quote(pick(p.ipv4));
      case 2: return "domain-name:value LIKE " + quote("%." + pick(p.domains));
      case 3: return "url:value MATCHES " + quote("^https?://" + pick(p.domains));
      case 4:
        return "ipv4-addr:value IN (" + quote(pick(p.ipv4)) + ", " + quote(pick(p.ipv4)) + ")";
      case 5: return "ipv4-addr:value > " + quote(pick(p.ipv4));
      case 6: return "ipv4-addr:value ISSUBSET " + quote(v4_net_variant(rng, pick(p.ipv4_nets)));
      case 7: return "ipv6-addr:value ISSUBSET " + quote(v6_variant(rng, pick(p.ipv6_nets)));
      case 8: return "ipv4-addr:value ISSUPERSET " + quote(pick(p.ipv4_nets));
      case 9: return "ipv4-addr:value NOT ISSUBSET " + quote(pick(p.ipv4_nets));
      case 10: return "file:name = " + quote("dropper-" + std::to_string(rng() % 9) + ".exe");
      case 11: return "domain-name:resolves_to_refs[*].value = " + quote(pick(p.ipv4));
      case 12: return "network-traffic:dst_ref.value = " + quote(pick(p.ipv4));
      case 13: return "file:hashes.'SHA-512' = " + quote(hex_string(rng, 128));
      default: return "email-message:from_ref.value = " + quote(pick(p.emails));
    }
  }

  std::string or_list(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " OR " : "") + eq();
    return rng() % 3 == 0 ? "(" + s + ")" : s;
  }

  std::string qualifier() {
    switch (rng() % 3) {
      case 0: return " WITHIN " + std::to_string(60 + rng() % 600) + " SECONDS";
      case 1: return " REPEATS " + std::to_string(2 + rng() % 4) + " TIMES";
      default: return " START t'2024-01-01T00:00:00Z' STOP t'2025-01-01T00:00:00Z'";
    }
  }

  // A pattern and the name of its shape.
  std::pair<std::string, std::string> make() {
    const auto r = rng() % 100;
    if (r < 25) return {"[" + eq() + "]", "single"};
    if (r < 40) return {"[" + or_list(2 + static_cast<int>(rng() % 3)) + "]", "or-list"};
    if (r < 50) {
      std::string s;
      const int n = 2 + static_cast<int>(rng() % 2);
      for (int i = 0; i < n; ++i) {
        s += (i ? " OR " : "") + ("[" + (rng() % 3 ? eq() : or_list(2)) + "]");
      }
      return {rng() % 3 == 0 ? "(" + s + ")" : s, "or-observations"};
    }
    if (r < 57) {
      return {
          rng() % 2 ? "[" + eq() + " OR " + other() + "]" : "[" + eq() + "] OR [" + other() + "]",
          "or-with-other"};
    }
    if (r < 63) {
      // Within one observation, AND of comparisons on the same object type.
      switch (rng() % 3) {
        case 0:
          return {"[file:hashes.'SHA-256' = " + quote(random_case(rng, pick(p.sha256))) +
                      " AND file:name = 'a.exe']",
                  "and"};
        case 1:
          return {"[ipv4-addr:value = " + quote(pick(p.ipv4)) +
                      " AND ipv4-addr:value != " + quote(pick(p.ipv4)) + "]",
                  "and"};
        default:
          return {"[domain-name:value = " + quote(random_case(rng, pick(p.domains))) +
                      " AND domain-name:resolves_to_refs[*].value = " + quote(pick(p.ipv4)) + "]",
                  "and"};
      }
    }
    if (r < 70) {
      const char* op = rng() % 2 ? " AND " : " FOLLOWEDBY ";
      return {"[" + eq() + "]" + op + "[" + eq() + "]" + (rng() % 2 ? " OR [" + eq() + "]" : ""),
              rng() % 2 ? "observations-and" : "followedby"};
    }
    if (r < 77) {
      if (rng() % 2) return {"[" + eq() + "]" + qualifier(), "qualified"};
      return {"([" + eq() + "] OR [" + eq() + "])" + qualifier(), "qualified"};
    }
    if (r < 90) return {"[" + other() + "]", "other-operator"};
    if (r < 94) {
      return {"[" + other() + " OR " + other() + "]", "other-operators"};
    }
    if (r < 96) return {"[" + eq() + "]", "pattern-type-pcre"};
    if (r < 97) {
      // One value twice, written two ways that are equal.
      const auto& d = pick(p.domains);
      return {"[domain-name:value = " + quote(random_case(rng, d)) + " OR domain-name:value = " +
                  quote(random_case(rng, d) + ".") + "] OR [" + eq() + "]",
              "or-duplicates"};
    }
    if (r < 98) return {"((([" + eq() + "]) OR ([" + or_list(2) + "])))", "or-nested"};
    return {"[" + eq() + "]  OR\n\t[" + eq() + "]", "or-observations-whitespace"};
  }
};

std::string indicator_json(const version& v, const std::string& created) {
  formats::json_writer w;
  w.begin_object().member("type", "indicator").member("spec_version", "2.1").member("id", v.id);
  w.member("created", created).member("modified", v.modified);
  w.member("name", "oracle " + v.shape);
  w.member("pattern", v.pattern).member("pattern_type", v.pattern_type);
  w.member("valid_from", v.valid_from);
  if (!v.valid_until.empty()) w.member("valid_until", v.valid_until);
  if (v.confidence) w.member("confidence", static_cast<std::int64_t>(*v.confidence));
  if (v.revoked) w.member("revoked", true);
  if (!v.marking.empty()) w.key("object_marking_refs").begin_array().string(v.marking).end_array();
  w.end_object();
  return w.take();
}

void pick_marking(std::mt19937& rng, version& v, int collection_default) {
  const auto r = rng() % 100;
  if (r < 20) {
    v.marking.clear();
    v.level = collection_default;
    return;
  }
  const auto& [id, level] =
      r < 85 ? k_tlp_ids[rng() % 5] : k_tlp_ids[5 + rng() % 4];  // 2.0 mostly, some 1.0
  v.marking = id;
  v.level = level;
}

void pick_window(std::mt19937& rng, version& v, std::int64_t now) {
  constexpr std::int64_t day = 86400;
  const auto r = rng() % 100;
  std::int64_t from = now - day * static_cast<std::int64_t>(1 + rng() % 400);
  if (r < 15) from = now + day * static_cast<std::int64_t>(2 + rng() % 60);  // not yet valid
  v.valid_from = stix_time(from);
  v.valid_until.clear();
  const auto u = rng() % 100;
  if (u < 25) {
    v.valid_until =
        stix_time(std::max(from, now) + day * static_cast<std::int64_t>(2 + rng() % 90));
  } else if (u < 45 && r >= 15) {
    // Expired: valid_until in the past, after valid_from.
    const std::int64_t until = now - day * static_cast<std::int64_t>(1 + rng() % 30);
    v.valid_from = stix_time(until - day * static_cast<std::int64_t>(1 + rng() % 30));
    v.valid_until = stix_time(until);
  }
}

// ---------------------------------------------------------------- HTTP

clients::http_response get(clients::taxii_client& c, const std::string& target,
                           const clients::header_list& headers = {}) {
  auto r = c.request("GET", target, headers);
  REQUIRE(r);
  return std::move(*r);
}

std::string enc(const std::string& s) {
  return clients::percent_encode(s);
}

// Counts and samples the differences between server and oracle.
struct differences {
  std::size_t count = 0;
  std::size_t comparisons = 0;
  std::map<std::string, std::size_t> by_kind;
  std::vector<std::string> samples;

  void add(const std::string& kind, const std::string& what) {
    ++count;
    ++by_kind[kind];
    if (samples.size() < 40) samples.push_back("[" + kind + "] " + what);
  }
  void expect(bool ok, const std::string& kind, const std::string& what) {
    ++comparisons;
    if (!ok) add(kind, what);
  }
  void report() const {
    std::string all;
    for (const auto& [k, n] : by_kind) all += k + ": " + std::to_string(n) + "\n";
    for (const auto& s : samples) all += s + "\n";
    INFO(all);
    CHECK(count == 0);
  }
};

// The pattern of the latest version, for reports.
std::string describe(const version& v) {
  return v.id + " v" + v.modified + " (" + v.shape + ", " + k_level_names[v.level] +
         (v.revoked ? ", revoked" : "") + ") pattern " + v.pattern;
}

}  // namespace

// ---------------------------------------------------------------- against cairnd

namespace {

server_setup oracle_setup() {
  server_setup s;
  s.collections = {
      {"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "c_clear", "Clear", "clear"},
      {"1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", "c_green", "Green", "green"},
      {"2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f", "c_amber", "Amber", "amber"},
      {"4e5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b", "c_none", "No default", ""},
  };
  s.accounts = {
      {"chief", "chief-pw", {"*"}, {"*"}, "red", false, {}, {}},
      {"greenie", "greenie-pw", {"*"}, {"c_clear", "c_green"}, "green", false, {}, {}},
      {"amberly",
       "amberly-pw",
       {"c_amber", "c_green", "c_none"},
       {"c_amber", "c_none"},
       "amber",
       false,
       {},
       {}},
      {"strict", {}, {"*"}, {}, "amber+strict", false, "cairn_strict_token_0123456789abcdef", {}},
      {"guest", "guest-pw", {"*"}, {"c_clear", "c_amber"}, "white", false, {}, {}},
      {"partial", "partial-pw", {"c_green"}, {}, "red", false, {}, {}},
      {"nobody", "nobody-pw", {}, {}, "red", false, {}, {}},
  };
  s.limits_json = R"("page_size": 1000, "requests_per_second": 0)";
  return s;
}

model model_of(const server_setup& s) {
  model m;
  for (const auto& c : s.collections) {
    m.ids[c.alias] = c.id;
    m.defaults[c.alias] = level_by_name(c.default_tlp);
    m.objects[c.alias];
  }
  for (const auto& a : s.accounts) {
    account oa{a.name, level_by_name(a.clearance), {}, {}};
    for (const auto& c : s.collections) {
      auto named = [&](const std::vector<std::string>& list) {
        return std::find(list.begin(), list.end(), "*") != list.end() ||
               std::find(list.begin(), list.end(), c.alias) != list.end();
      };
      if (named(a.read)) oa.read.insert(c.alias);
      if (named(a.write)) oa.write.insert(c.alias);
    }
    m.accounts[a.name] = oa;
  }
  return m;
}

struct clients_by_name {
  std::map<std::string, clients::taxii_client> by_name;
  clients_by_name(const test_server& srv, const server_setup& s) {
    for (const auto& a : s.accounts) by_name.emplace(a.name, srv.client(a.name));
  }
  clients::taxii_client& operator[](const std::string& n) { return by_name.at(n); }
};

void publish(clients_by_name& cl, const std::string& who, const std::string& alias,
             const std::vector<const version*>& batch) {
  std::vector<std::string> objects;
  for (const auto* v : batch) objects.push_back(v->json);
  auto st = cl[who].add_objects("/api1/", alias, envelope(objects));
  INFO((st ? std::string() : st.error().message));
  REQUIRE(st);
  std::string why;
  for (const auto& f : st->failures) why += f.id + " " + f.version + ": " + f.message + "\n";
  INFO(why);
  REQUIRE(st->success_count == static_cast<std::int64_t>(batch.size()));
}

// Generates and publishes indicators (and a few SCOs) into every collection.
void populate(model& m, clients_by_name& cl, std::mt19937& rng, const pools& p,
              int indicators_per_collection, int scos_per_collection) {
  pattern_maker maker{rng, p};
  const std::int64_t base = 1'748'736'000;  // 2025-06-01
  int serial = 0;
  for (auto& [alias, objects] : m.objects) {
    std::vector<std::string> writers;
    for (const auto& [name, a] : m.accounts) {
      if (a.write.contains(alias)) writers.push_back(name);
    }
    REQUIRE(writers.size() >= 2);
    for (int i = 0; i < indicators_per_collection; ++i) {
      const auto id = "indicator--" + uuid(rng);
      const std::int64_t created = base + 60 * ++serial;
      const auto n_versions = 1 + rng() % 4;
      const bool revoke = rng() % 100 < 15;
      auto& versions = objects[id];
      for (std::size_t k = 0; k < n_versions; ++k) {
        version v;
        v.collection = alias;
        v.id = id;
        v.type = "indicator";
        v.modified = stix_time(created + 3600 * static_cast<std::int64_t>(k),
                               k == 0 ? 0 : static_cast<int>(rng() % 1000));
        v.publisher = writers[rng() % writers.size()];
        pick_marking(rng, v, m.defaults.at(alias));
        pick_window(rng, v, m.now);
        if (rng() % 3 == 0) v.confidence = static_cast<int>(rng() % 101);
        if (k > 0 && rng() % 2) {
          v.pattern = versions.back().pattern;
          v.shape = versions.back().shape;
        } else {
          std::tie(v.pattern, v.shape) = maker.make();
        }
        v.pattern_type = v.shape == "pattern-type-pcre" ? "pcre" : "stix";
        v.revoked = revoke && k + 1 == n_versions;
        v.facts = lo::analyse(v.pattern);
        INFO(v.pattern << ": " << v.facts.error);
        REQUIRE(v.facts.valid);
        if (v.pattern_type != "stix") v.facts = lo::pattern_facts{true, {}, {}, {}, {}};
        v.json = indicator_json(v, stix_time(created));
        versions.push_back(std::move(v));
      }
    }
    for (int i = 0; i < scos_per_collection; ++i) {
      version v;
      v.collection = alias;
      v.publisher = writers[rng() % writers.size()];
      pick_marking(rng, v, m.defaults.at(alias));
      formats::json_writer w;
      switch (rng() % 4) {
        case 0: {
          v.type = "ipv4-addr";
          const auto& a = maker.pick(p.ipv4);
          v.sco.insert(*lo::normalise(lo::kind::ipv4, a));
          v.id = v.type + "--" + uuid(rng);
          w.begin_object().member("type", v.type).member("spec_version", "2.1").member("id", v.id);
          w.member("value", a);
          break;
        }
        case 1: {
          v.type = "domain-name";
          const auto d = random_case(rng, maker.pick(p.domains));
          v.sco.insert(*lo::normalise(lo::kind::domain, d));
          v.id = v.type + "--" + uuid(rng);
          w.begin_object().member("type", v.type).member("spec_version", "2.1").member("id", v.id);
          w.member("value", d);
          break;
        }
        case 2: {
          v.type = "url";
          // An SCO's value must be an RFC 3986 URL (patterns may hold anything).
          std::string u = maker.pick(p.urls);
          while (u.find_first_of("\"\\") != std::string::npos) u = maker.pick(p.urls);
          v.sco.insert(*lo::normalise(lo::kind::url, u));
          v.id = v.type + "--" + uuid(rng);
          w.begin_object().member("type", v.type).member("spec_version", "2.1").member("id", v.id);
          w.member("value", u);
          break;
        }
        default: {
          v.type = "file";
          const auto sha = random_case(rng, maker.pick(p.sha256));
          const auto md5 = random_case(rng, maker.pick(p.md5));
          v.sco.insert(*lo::normalise(lo::kind::sha256, sha));
          v.sco.insert(*lo::normalise(lo::kind::md5, md5));
          v.id = v.type + "--" + uuid(rng);
          w.begin_object().member("type", v.type).member("spec_version", "2.1").member("id", v.id);
          w.key("hashes").begin_object().member("SHA-256", sha).member("MD5", md5).end_object();
          w.member("name", "sample.bin");
          break;
        }
      }
      if (!v.marking.empty())
        w.key("object_marking_refs").begin_array().string(v.marking).end_array();
      w.end_object();
      v.json = w.take();
      v.shape = "sco";
      objects[v.id].push_back(std::move(v));
    }
    // Versions arrive in any order, in batches by their publishers.
    std::map<std::string, std::vector<const version*>> by_publisher;
    for (const auto& [id, versions] : objects) {
      for (const auto& v : versions) by_publisher[v.publisher].push_back(&v);
    }
    std::vector<std::pair<std::string, std::vector<const version*>>> batches;
    for (auto& [who, list] : by_publisher) {
      std::shuffle(list.begin(), list.end(), rng);
      for (std::size_t at = 0; at < list.size(); at += 200) {
        batches.emplace_back(
            who, std::vector<const version*>(
                     list.begin() + static_cast<std::ptrdiff_t>(at),
                     list.begin() + static_cast<std::ptrdiff_t>(std::min(at + 200, list.size()))));
      }
    }
    std::shuffle(batches.begin(), batches.end(), rng);
    for (const auto& [who, batch] : batches) publish(cl, who, alias, batch);
  }
  // SCOs have no `modified`: read the version the server gave them.
  for (auto& [alias, objects] : m.objects) {
    clients::object_filters f;
    f.types = {"ipv4-addr", "domain-name", "url", "file"};
    while (true) {
      auto page = cl["chief"].manifest("/api1/", alias, f);
      REQUIRE(page);
      for (const auto& r : page->objects) {
        auto it = objects.find(r.id);
        REQUIRE(it != objects.end());
        it->second.front().modified = r.version;
      }
      if (!page->more) break;
      f.next = page->next;
    }
  }
}

// What a lookup of text (as type, or none) returns to an account: one key
// per match, and the version behind each, for reports.
std::map<std::string, const version*> expected_lookup(const model& m, const account& a,
                                                      const std::string& text,
                                                      const std::string& type) {
  std::map<std::string, const version*> out;
  const auto cands = lo::candidates(text, type);
  for (const auto& [alias, objects] : m.objects) {
    if (!a.read.contains(alias)) continue;
    for (const auto& [id, versions] : objects) {
      const auto* v = m.latest(a, versions);
      if (!v) continue;
      bool hit = false;
      for (const auto& c : cands) {
        if (v->type == "indicator" ? lo::matches(v->facts, c) : v->sco.contains(c)) hit = true;
      }
      if (!hit) continue;
      const std::string key = m.ids.at(alias) + " " + id + " " + v->modified + " " + v->type + " " +
                              k_level_names[v->level] + " " + (v->revoked ? "revoked" : "live") +
                              " " + (v->valid_until.empty() ? "null" : v->valid_until);
      out[key] = v;
    }
  }
  return out;
}

void check_lookup(test_server& srv, clients_by_name& cl, const model& m, const std::string& who,
                  const std::string& text, const std::string& type, differences& d) {
  const auto& a = m.accounts.at(who);
  const auto expected = expected_lookup(m, a, text, type);
  std::string target = "/cairn/v1/lookup?value=" + enc(text);
  if (!type.empty()) target += "&type=" + enc(type);
  const std::string context =
      who + " lookup '" + text + "'" + (type.empty() ? "" : " type " + type);
  auto r = cl[who].request("GET", target, {{"Accept", "application/json"}});
  if (!r) {
    d.add("lookup: no answer", context + ": " + r.error().message);
    return;
  }
  (void)srv;
  if (r->status != 200) {
    d.add("lookup: status",
          context + ": " + std::to_string(r->status) + " " + r->body.substr(0, 300));
    return;
  }
  auto doc = formats::parse_json(r->body);
  if (!doc || !doc->root().is_object()) {
    d.add("lookup: not JSON", context);
    return;
  }
  const auto root = doc->root();
  const auto matches = root.get("matches");
  const auto more = root.get("more");
  const auto value = root.get("value");
  if (!matches || !matches->is_array() || !more || !more->is_bool() || !value ||
      !value->is_string()) {
    d.add("lookup: form", context + ": " + r->body.substr(0, 300));
    return;
  }
  d.expect(value->as_string() == text, "lookup: value echoed",
           context + ": value " + std::string(value->as_string()));
  d.expect(!more->as_bool(), "lookup: more", context + ": more is true");
  std::set<std::string> got;
  for (std::size_t i = 0; i < matches->size(); ++i) {
    const auto x = matches->value_at(i);
    auto str = [&](const char* k) -> std::string {
      auto v = x.get(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string("<missing>");
    };
    const auto revoked = x.get("revoked");
    const auto until = x.get("valid_until");
    if (str("api_root") != "api1") d.add("lookup: api_root", context + ": " + str("api_root"));
    const std::string key =
        str("collection") + " " + str("id") + " " + str("version") + " " + str("type") + " " +
        str("tlp") + " " +
        (revoked && revoked->is_bool() ? (revoked->as_bool() ? "revoked" : "live") : "<missing>") +
        " " + (until && until->is_null() ? "null" : str("valid_until"));
    got.insert(key);
  }
  ++d.comparisons;
  for (const auto& [key, v] : expected) {
    if (!got.contains(key))
      d.add("lookup: missing", context + ": expected " + key + " — " + describe(*v));
  }
  for (const auto& key : got) {
    if (expected.contains(key)) continue;
    // Name the pattern of the object the server listed, if the test made it.
    std::string why;
    for (const auto& [alias, objects] : m.objects) {
      for (const auto& [id, versions] : objects) {
        if (key.find(id) == std::string::npos) continue;
        const auto* v = m.latest(a, versions);
        why = v ? describe(*v) : "an object this account may not see";
      }
    }
    d.add("lookup: unexpected", context + ": got " + key + " — " + why);
  }
}

std::string edl_form(const lo::value& v) {
  if (v.k != lo::kind::url) return v.text;
  const auto at = v.text.find("://");
  return at == std::string::npos ? v.text : v.text.substr(at + 3);
}

struct export_rows {
  std::vector<std::string> edl;                 // sorted, unique
  std::vector<std::string> csv;                 // sorted rows, fields joined by '\x1f'
  std::set<std::string> stix;                   // "id modified"
  std::map<std::string, const version*> drawn;  // "id modified" -> version
};

export_rows expected_export(const model& m, const account& a, const std::string& alias,
                            const std::set<lo::kind>& kinds) {
  export_rows out;
  std::set<std::string> edl;
  for (const auto& [id, versions] : m.objects.at(alias)) {
    const auto* v = m.latest(a, versions);
    if (!v || v->type != "indicator" || !current(*v, m.now)) continue;
    bool any = false;
    for (const auto& val : v->facts.exported) {
      if (!kinds.empty() && !kinds.contains(val.k)) continue;
      any = true;
      edl.insert(edl_form(val));
      const std::string sep = "\x1f";
      out.csv.push_back(val.text + sep + std::string(lo::type_name(val.k)) + sep + v->id + sep +
                        v->modified + sep + v->valid_from + sep + v->valid_until + sep +
                        (v->confidence ? std::to_string(*v->confidence) : "") + sep +
                        k_level_names[v->level]);
    }
    if (any) {
      out.stix.insert(v->id + " " + v->modified);
      out.drawn[v->id + " " + v->modified] = v;
    }
  }
  out.edl.assign(edl.begin(), edl.end());
  std::sort(out.csv.begin(), out.csv.end());
  return out;
}

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < body.size()) {
    auto nl = body.find('\n', at);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    at = nl + 1;
  }
  return out;
}

template <typename C>
std::string sample_difference(const C& expected, const C& got) {
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::string s =
      std::to_string(missing.size()) + " missing, " + std::to_string(extra.size()) + " unexpected";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, missing.size()); ++i) {
    s += "; missing '" + missing[i] + "'";
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(3, extra.size()); ++i) {
    s += "; unexpected '" + extra[i] + "'";
  }
  return s;
}

void check_export(clients_by_name& cl, const model& m, const std::string& who,
                  const std::string& alias, const std::string& format,
                  const std::string& type_filter, differences& d) {
  const auto& a = m.accounts.at(who);
  std::set<lo::kind> kinds;
  std::set<std::string> type_names;
  {
    std::size_t at = 0;
    while (!type_filter.empty() && at <= type_filter.size()) {
      auto comma = type_filter.find(',', at);
      if (comma == std::string::npos) comma = type_filter.size();
      for (auto k : lo::kinds_of_type(type_filter.substr(at, comma - at))) kinds.insert(k);
      at = comma + 1;
    }
  }
  std::string target = "/cairn/v1/export/api1/" + m.ids.at(alias) + "?format=" + format;
  if (!type_filter.empty()) target += "&type=" + enc(type_filter);
  const std::string context =
      who + " export " + alias + " " + format + (type_filter.empty() ? "" : " type " + type_filter);
  auto r = cl[who].request("GET", target, {{"Accept", "*/*"}});
  if (!r) {
    d.add("export: no answer", context + ": " + r.error().message);
    return;
  }
  if (!a.read.contains(alias)) {
    d.expect(r->status == 404, "export: unreadable collection",
             context + ": " + std::to_string(r->status) + " (expected 404)");
    return;
  }
  if (r->status != 200) {
    d.add("export: status",
          context + ": " + std::to_string(r->status) + " " + r->body.substr(0, 300));
    return;
  }
  const auto expected = expected_export(m, a, alias, kinds);
  const auto content_type = r->header("Content-Type").value_or("");
  if (format == "edl") {
    d.expect(content_type.starts_with("text/plain"), "export: content type",
             context + ": " + content_type);
    auto got = lines_of(r->body);
    if (got == expected.edl) {
      ++d.comparisons;
      return;
    }
    std::vector<std::string> sorted = got;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    if (sorted == expected.edl) {
      d.add("export: edl order", context + ": the right values, not sorted or not unique");
    } else {
      d.add("export: edl values", context + ": " + sample_difference(expected.edl, sorted));
    }
  } else if (format == "csv") {
    d.expect(content_type.starts_with("text/csv"), "export: content type",
             context + ": " + content_type);
    bool crlf = true;
    auto rows = lo::parse_csv(r->body, &crlf);
    if (!rows || rows->empty()) {
      d.add("export: csv form", context + ": not RFC 4180: " + r->body.substr(0, 200));
      return;
    }
    d.expect(crlf, "export: csv line ends", context + ": a record not ended by CRLF");
    const std::vector<std::string> header = {
        "value",      "type",        "indicator_id", "indicator_version",
        "valid_from", "valid_until", "confidence",   "tlp"};
    d.expect((*rows)[0] == header, "export: csv header", context);
    std::vector<std::string> got;
    for (std::size_t i = 1; i < rows->size(); ++i) {
      std::string joined;
      for (std::size_t k = 0; k < (*rows)[i].size(); ++k)
        joined += (k ? "\x1f" : "") + (*rows)[i][k];
      got.push_back(joined);
    }
    std::sort(got.begin(), got.end());
    ++d.comparisons;
    if (got != expected.csv) {
      auto show = [](std::vector<std::string> v) {
        for (auto& s : v) std::replace(s.begin(), s.end(), '\x1f', ',');
        return v;
      };
      d.add("export: csv rows", context + ": " + sample_difference(show(expected.csv), show(got)));
    }
  } else {
    auto doc = formats::parse_json(r->body);
    if (!doc || !doc->root().is_object()) {
      d.add("export: stix form", context + ": not JSON");
      return;
    }
    const auto root = doc->root();
    const auto type = root.get("type");
    const auto objects = root.get("objects");
    d.expect(type && type->is_string() && type->as_string() == "bundle", "export: stix form",
             context + ": not a bundle");
    std::set<std::string> got;
    if (objects && objects->is_array()) {
      for (std::size_t i = 0; i < objects->size(); ++i) {
        const auto o = objects->value_at(i);
        const auto id = o.get("id");
        const auto mod = o.get("modified");
        if (!id || !mod || !id->is_string() || !mod->is_string()) {
          d.add("export: stix form", context + ": an object without id or modified");
          continue;
        }
        got.insert(std::string(id->as_string()) + " " + std::string(mod->as_string()));
      }
    } else if (!expected.stix.empty()) {
      d.add("export: stix form", context + ": no objects");
    }
    ++d.comparisons;
    if (got != expected.stix) {
      std::string why = sample_difference(expected.stix, got);
      for (const auto& k : expected.stix) {
        if (!got.contains(k)) {
          why += " [missing " + describe(*expected.drawn.at(k)) + "]";
          break;
        }
      }
      d.add("export: stix objects", context + ": " + why);
    }
  }
}

// A value of the pools written as a person might type it for a lookup.
std::pair<std::string, std::string> lookup_value(std::mt19937& rng, const pools& p) {
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const bool typed = rng() % 3 == 0;
  switch (rng() % 14) {
    case 0:
    case 1: return {pick(p.ipv4), typed ? "ipv4-addr" : ""};
    case 2: {  // an address inside a network of the pool
      auto n = *lo::parse_ipv4(pick(p.ipv4_nets));
      for (int bit = n.prefix; bit < 32; ++bit) {
        if (rng() % 2)
          n.bytes[static_cast<std::size_t>(bit / 8)] |=
              static_cast<std::uint8_t>(0x80u >> (bit % 8));
      }
      n.prefix = 32;
      return {lo::render(n), typed ? "ipv4-addr" : ""};
    }
    case 3: return {v6_variant(rng, pick(p.ipv6)), typed ? "ipv6-addr" : ""};
    case 4: {
      auto n = *lo::parse_ipv6(pick(p.ipv6_nets));
      for (int bit = n.prefix; bit < 128; ++bit) {
        if (rng() % 2)
          n.bytes[static_cast<std::size_t>(bit / 8)] |=
              static_cast<std::uint8_t>(0x80u >> (bit % 8));
      }
      n.prefix = 128;
      return {v6_variant(rng, lo::render(n)), typed ? "ipv6-addr" : ""};
    }
    case 5:
    case 6:
      return {random_case(rng, pick(p.domains)) + (rng() % 5 ? "" : "."),
              typed ? "domain-name" : ""};
    case 7: return {pick(p.urls), typed ? "url" : ""};
    case 8: return {random_case(rng, pick(p.urls)), typed ? "url" : ""};  // URLs keep their case
    case 9: return {pick(p.emails), typed ? "email-addr" : ""};
    case 10: return {random_case(rng, pick(p.sha256)), typed ? "file" : ""};
    case 11: return {random_case(rng, pick(p.sha1)), typed ? "file" : ""};
    case 12: return {random_case(rng, pick(p.md5)), typed ? "file" : ""};
    // Lookups of a network are the case of their own below.
    default: return {pick(p.absent), ""};
  }
}

}  // namespace

TEST_CASE("lookup and exports agree with the oracle for every account", "[integration][lookup]") {
  std::uint32_t seed = std::random_device{}();
  if (const char* s = std::getenv("CAIRN_ORACLE_SEED"))
    seed = static_cast<std::uint32_t>(std::stoul(s));
  std::printf("lookup oracle seed: %u (CAIRN_ORACLE_SEED=%u repeats this run)\n", seed, seed);
  std::fflush(stdout);
  INFO("seed " << seed);
  std::mt19937 rng(seed);

  const auto setup = oracle_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  auto m = model_of(setup);
  m.now = unix_now();
  const auto p = make_pools(rng);
  populate(m, cl, rng, p, 550, 25);

  {
    std::size_t objects = 0, versions = 0, exporting = 0, revoked = 0;
    std::map<std::string, std::size_t> shapes;
    for (const auto& [alias, by_id] : m.objects) {
      for (const auto& [id, list] : by_id) {
        ++objects;
        versions += list.size();
        revoked += list.back().revoked ? 1 : 0;
        exporting += list.back().facts.exported.empty() ? 0 : 1;
        ++shapes[list.back().shape];
      }
    }
    std::string by_shape;
    for (const auto& [shape, n] : shapes) by_shape += " " + shape + "=" + std::to_string(n);
    std::printf(
        "lookup oracle corpus: %zu objects, %zu versions, %zu revoked, %zu whose latest "
        "version exports values; latest shapes:%s\n",
        objects, versions, revoked, exporting, by_shape.c_str());
  }
  differences d;
  std::vector<std::pair<std::string, std::string>> values;
  for (int i = 0; i < 110; ++i) values.push_back(lookup_value(rng, p));
  for (const auto& [name, a] : m.accounts) {
    for (const auto& [text, type] : values) check_lookup(srv, cl, m, name, text, type, d);
  }
  static const std::vector<std::string> filters = {
      "", "ipv4-addr", "ipv4-addr,ipv6-addr", "domain-name,url", "file", "email-addr,url"};
  for (const auto& [name, a] : m.accounts) {
    for (const auto& [alias, id] : m.ids) {
      for (const char* format : {"edl", "csv", "stix"}) {
        check_export(cl, m, name, alias, format, "", d);
        check_export(cl, m, name, alias, format, filters[1 + rng() % (filters.size() - 1)], d);
      }
    }
  }
  std::printf("lookup oracle: %zu comparisons, %zu differences\n", d.comparisons, d.count);
  d.report();

  // ETag and If-None-Match: 304 while nothing changed for that account, 200
  // for another account that sees something else, 200 after a change.
  const auto target = "/cairn/v1/export/api1/" + m.ids.at("c_green") + "?format=edl";
  const clients::header_list any = {{"Accept", "*/*"}};
  auto first = get(cl["greenie"], target, any);
  REQUIRE(first.status == 200);
  const auto etag = first.header("ETag");
  REQUIRE(etag);
  auto same = get(cl["greenie"], target, {{"Accept", "*/*"}, {"If-None-Match", *etag}});
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  auto chief_view = get(cl["chief"], target, any);
  REQUIRE(chief_view.status == 200);
  if (chief_view.body != first.body) {
    auto other = get(cl["chief"], target, {{"Accept", "*/*"}, {"If-None-Match", *etag}});
    CHECK(other.status == 200);
  }
  version fresh;
  fresh.collection = "c_green";
  fresh.id = "indicator--" + uuid(rng);
  fresh.type = "indicator";
  fresh.modified = stix_time(m.now - 3600);
  fresh.marking = k_tlp_ids[0].first;  // clear
  fresh.level = k_clear;
  fresh.valid_from = stix_time(m.now - 7200);
  fresh.pattern = "[domain-name:value = 'fresh-" + std::to_string(seed) + ".example.com']";
  fresh.shape = "single";
  fresh.json = indicator_json(fresh, fresh.modified);
  publish(cl, "chief", "c_green", {&fresh});
  auto changed = get(cl["greenie"], target, {{"Accept", "*/*"}, {"If-None-Match", *etag}});
  CHECK(changed.status == 200);
  CHECK(changed.header("ETag") != etag);
  CHECK(changed.body.find("fresh-" + std::to_string(seed) + ".example.com") != std::string::npos);
}

namespace {

// A TAXII error resource (TAXII 2.1 3.6.1) with a description a person can act on.
void require_error(const clients::http_response& r, std::set<unsigned> statuses,
                   const std::string& what) {
  INFO(what << ": " << r.status << " " << r.body.substr(0, 400));
  CHECK(statuses.contains(r.status));
  CHECK(r.status < 500);
  CHECK(r.header("Content-Type").value_or("").starts_with("application/taxii+json"));
  auto doc = formats::parse_json(r.body);
  REQUIRE(doc);
  REQUIRE(doc->root().is_object());
  const auto title = doc->root().get("title");
  const auto description = doc->root().get("description");
  CHECK((title && title->is_string() && !title->as_string().empty()));
  CHECK((description && description->is_string() && !description->as_string().empty()));
}

}  // namespace

TEST_CASE("lookup, export and exposure: bad input gets TAXII errors, never a 500",
          "[integration][lookup]") {
  test_server srv;
  auto admin = srv.client("admin");
  auto reader = srv.client("reader");
  auto auditor = srv.client("auditor");
  const auto col = std::string(k_intel);

  require_error(get(admin, "/cairn/v1/lookup"), {400}, "lookup without a value");
  require_error(get(admin, "/cairn/v1/lookup?value="), {400}, "lookup of an empty value");
  require_error(get(admin, "/cairn/v1/lookup?value=1.2.3.4&type=ipv5-addr"), {400},
                "lookup of an unknown type");
  require_error(get(admin, "/cairn/v1/lookup?value=not-an-address&type=ipv4-addr"), {400},
                "lookup of a value that is not of its type");
  require_error(get(admin, "/cairn/v1/lookup?value=abc&type=file"), {400},
                "lookup of a hash that is no hash");
  {
    auto r = get(admin, "/cairn/v1/lookup?value=" + std::string(20000, 'a') + ".example.com");
    INFO(r.status << " " << r.body.substr(0, 300));
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
  }
  require_error(get(admin, "/cairn/v1/export/api1/" + col + "?format=pdf"), {400},
                "an unknown export format");
  require_error(get(admin, "/cairn/v1/export/api1/" + col + "?format=edl&type=ipv4-addr,car"),
                {400}, "an unknown type in the export filter");
  require_error(get(admin, "/cairn/v1/export/api1/4b3c2d1e-0000-4000-8000-000000000000?format=edl"),
                {404}, "an unknown collection");
  require_error(get(admin, "/cairn/v1/export/nowhere/" + col + "?format=edl"), {404},
                "an unknown API root");
  require_error(get(reader, "/cairn/v1/export/api1/" + std::string(k_secret) + "?format=csv"),
                {404}, "a collection the account cannot read");
  require_error(get(auditor, "/cairn/v1/audit/exposure"), {400}, "exposure without an object");
  require_error(get(auditor, "/cairn/v1/audit/exposure?object=not-an-id"), {400, 404},
                "exposure of something that is not a STIX id");
  require_error(get(reader, "/cairn/v1/audit/exposure?object=indicator--" +
                                std::string("0b6a8f4e-5c1d-4e2f-9a3b-7c8d9e0f1a2b")),
                {403}, "exposure asked by an account that is no auditor");

  // Without credentials: 401 with a challenge.
  auto opts = srv.options("admin");
  opts.user.clear();
  opts.password.clear();
  auto anonymous = clients::taxii_client::make(opts);
  REQUIRE(anonymous);
  auto r = get(*anonymous, "/cairn/v1/lookup?value=1.2.3.4");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").has_value());
}

TEST_CASE("exposure after interleaved publishes and pulls matches who received what",
          "[integration][lookup]") {
  std::uint32_t seed = std::random_device{}();
  if (const char* s = std::getenv("CAIRN_ORACLE_SEED"))
    seed = static_cast<std::uint32_t>(std::stoul(s));
  std::printf("exposure seed: %u (CAIRN_ORACLE_SEED=%u repeats this run)\n", seed, seed);
  std::fflush(stdout);
  INFO("seed " << seed);
  std::mt19937 rng(seed);

  auto setup = default_setup();
  setup.limits_json = R"("requests_per_second": 0)";
  test_server srv(setup);
  auto writer = srv.client("writer");
  auto auditor = srv.client("auditor");
  std::map<std::string, clients::taxii_client> pullers;
  for (const char* who : {"admin", "reader", "bot"}) pullers.emplace(who, srv.client(who));

  struct object_state {
    std::string id;
    std::string value;  // the address its pattern names
    std::vector<std::string> versions;
    bool revoked = false;
  };
  std::vector<object_state> objects;
  for (int i = 0; i < 6; ++i) {
    objects.push_back({"indicator--" + uuid(rng), "192.0.2." + std::to_string(10 + i), {}, false});
  }
  // account -> id -> versions received
  std::map<std::string, std::map<std::string, std::set<std::string>>> received;
  std::int64_t clock = 1'750'000'000;
  int publishes = 0, pulls = 0, lookups = 0;

  auto publish_version = [&](object_state& o) {
    const auto modified = stix_time(clock += 61, static_cast<int>(rng() % 1000));
    const bool revoke = !o.versions.empty() && rng() % 8 == 0;
    std::string marking;
    switch (rng() % 4) {
      case 0: marking = k_tlp_ids[1].first; break;  // green
      case 1: marking = k_tlp_ids[2].first; break;  // amber
      case 2: marking = k_tlp_ids[4].first; break;  // red
      default: break;                               // unmarked: intel's amber
    }
    formats::json_writer w;
    w.begin_object().member("type", "indicator").member("spec_version", "2.1").member("id", o.id);
    w.member("created", "2025-01-01T00:00:00.000Z").member("modified", modified);
    w.member("pattern", "[ipv4-addr:value = '" + o.value + "']").member("pattern_type", "stix");
    w.member("valid_from", "2025-01-01T00:00:00Z");
    if (revoke) w.member("revoked", true);
    if (!marking.empty()) w.key("object_marking_refs").begin_array().string(marking).end_array();
    w.end_object();
    auto st = writer.add_objects("/api1/", k_intel, envelope({w.take()}));
    REQUIRE(st);
    REQUIRE(st->success_count == 1);
    o.versions.push_back(modified);
    o.revoked = revoke;
    ++publishes;
  };
  auto note = [&](const std::string& who, const std::string& id, const std::string& version) {
    received[who][id].insert(version);
  };

  for (auto& o : objects) publish_version(o);
  for (int step = 0; step < 60; ++step) {
    const auto r = rng() % 100;
    auto it = pullers.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng() % pullers.size()));
    auto& [who, c] = *it;
    if (r < 30) {
      auto& o = objects[rng() % objects.size()];
      if (!o.revoked) publish_version(o);
    } else if (r < 75) {
      clients::object_filters f;
      if (rng() % 3 == 0) f.versions = {"all"};
      if (rng() % 2) f.ids = {objects[rng() % objects.size()].id};
      auto page = c.get_objects("/api1/", k_intel, f);
      REQUIRE(page);
      for (const auto& obj : page->objects) {
        auto doc = formats::parse_json(obj);
        REQUIRE(doc);
        note(who, std::string(doc->root().get("id")->as_string()),
             std::string(doc->root().get("modified")->as_string()));
      }
      ++pulls;
    } else {
      const auto& o = objects[rng() % objects.size()];
      auto res = get(c, "/cairn/v1/lookup?value=" + o.value);
      REQUIRE(res.status == 200);
      auto doc = formats::parse_json(res.body);
      REQUIRE(doc);
      const auto matches = doc->root().get("matches");
      REQUIRE(matches);
      for (std::size_t i = 0; i < matches->size(); ++i) {
        const auto x = matches->value_at(i);
        note(who, std::string(x.get("id")->as_string()),
             std::string(x.get("version")->as_string()));
      }
      ++lookups;
    }
  }
  INFO(publishes << " publishes, " << pulls << " pulls, " << lookups << " lookups");

  for (const auto& o : objects) {
    INFO("object " << o.id);
    auto res = get(auditor, "/cairn/v1/audit/exposure?object=" + o.id);
    INFO(res.body.substr(0, 2000));
    REQUIRE(res.status == 200);
    auto doc = formats::parse_json(res.body);
    REQUIRE(doc);
    const auto root = doc->root();
    const auto current = *std::max_element(o.versions.begin(), o.versions.end());
    CHECK(root.get("object")->as_string() == o.id);
    CHECK(root.get("current_version")->as_string() == current);
    CHECK(root.get("revoked")->as_bool() == o.revoked);
    // The times at which each account received each version, from the log.
    std::map<std::pair<std::string, std::string>, std::set<std::string>> times;
    std::string next;
    while (true) {
      auto a = get(auditor, "/cairn/v1/audit?object=" + o.id + "&action=pull" +
                                (next.empty() ? "" : "&next=" + enc(next)));
      REQUIRE(a.status == 200);
      auto adoc = formats::parse_json(a.body);
      REQUIRE(adoc);
      const auto records = adoc->root().get("records");
      for (std::size_t i = 0; i < records->size(); ++i) {
        const auto rec = records->value_at(i);
        const auto objs = rec.get("objects");
        for (std::size_t k = 0; k < objs->size(); ++k) {
          const auto ov = objs->value_at(k);
          if (ov.get("id")->as_string() != o.id) continue;
          times[{std::string(rec.get("account")->as_string()),
                 std::string(ov.get("version")->as_string())}]
              .insert(std::string(rec.get("time")->as_string()));
        }
      }
      if (!adoc->root().get("more")->as_bool()) break;
      next = std::string(adoc->root().get("next")->as_string());
    }
    std::map<std::string, std::string> expected;  // account -> last version received
    for (const auto& [who, by_id] : received) {
      auto f = by_id.find(o.id);
      if (f != by_id.end() && !f->second.empty()) expected[who] = *f->second.rbegin();
    }
    const auto recipients = root.get("recipients");
    REQUIRE(recipients);
    std::map<std::string, std::string> got;
    for (std::size_t i = 0; i < recipients->size(); ++i) {
      const auto x = recipients->value_at(i);
      const std::string who(x.get("account")->as_string());
      const std::string last(x.get("last_version_received")->as_string());
      INFO("recipient " << who);
      CHECK_FALSE(got.contains(who));
      got[who] = last;
      CHECK(x.get("current")->as_bool() == (last == current));
      const std::string time(x.get("time")->as_string());
      CHECK(times[{who, last}].contains(time));
    }
    CHECK(got == expected);
  }
}

TEST_CASE("lookup lists at most 1000 matches, then says more", "[integration][lookup]") {
  test_server srv;
  auto admin = srv.client("admin");
  std::mt19937 rng(1013);
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> objects;
    for (int i = 0; i < 335; ++i) {
      version v;
      v.id = "indicator--" + uuid(rng);
      v.modified = "2025-02-01T00:00:00.000Z";
      v.valid_from = "2025-02-01T00:00:00.000Z";
      v.pattern = "[ipv4-addr:value = '198.51.100.99' OR ipv4-addr:value = '198.51.100." +
                  std::to_string(batch) + "']";
      v.shape = "or-list";
      objects.push_back(indicator_json(v, v.modified));
    }
    auto st = admin.add_objects("/api1/", k_intel, envelope(objects));
    REQUIRE(st);
    REQUIRE(st->success_count == 335);
  }
  auto r = get(admin, "/cairn/v1/lookup?value=198.51.100.99");
  REQUIRE(r.status == 200);
  auto doc = formats::parse_json(r.body);
  REQUIRE(doc);
  CHECK(doc->root().get("matches")->size() == 1000);
  CHECK(doc->root().get("more")->as_bool());
  r = get(admin, "/cairn/v1/lookup?value=198.51.100.1");
  REQUIRE(r.status == 200);
  doc = formats::parse_json(r.body);
  REQUIRE(doc);
  CHECK(doc->root().get("matches")->size() == 335);
  CHECK_FALSE(doc->root().get("more")->as_bool());
}

// INTERFACE.md: a lookup finds "for an IPv4/IPv6 value, a CIDR in the pattern
// that contains it". An ipv4-addr value may be a network (STIX 2.1 6.13), so
// a lookup of a network finds the patterns whose network contains it: the
// same network, and wider ones, whether compared with = or ISSUBSET; not the
// addresses and narrower networks inside it.
TEST_CASE("lookup of a network finds every network of a pattern that contains it",
          "[integration][lookup]") {
  test_server srv;
  auto admin = srv.client("admin");
  std::mt19937 rng(4242);
  const std::vector<std::pair<std::string, std::string>> patterns = {
      {"equal", "[ipv4-addr:value = '192.0.2.48/29']"},
      {"wider-subset", "[ipv4-addr:value ISSUBSET '192.0.2.0/24']"},
      {"widest", "[ipv4-addr:value = '0.0.0.0/0']"},
      {"wider-host-bits", "[ipv4-addr:value = '192.0.2.77/25']"},
      {"address-inside", "[ipv4-addr:value = '192.0.2.50']"},
      {"narrower", "[ipv4-addr:value = '192.0.2.48/30']"},
      {"elsewhere", "[ipv4-addr:value = '198.51.100.0/24']"},
  };
  std::map<std::string, std::string> name_of;  // id -> name
  std::vector<std::string> objects;
  for (const auto& [name, pattern] : patterns) {
    version v;
    v.id = "indicator--" + uuid(rng);
    v.modified = "2025-03-01T00:00:00.000Z";
    v.valid_from = v.modified;
    v.pattern = pattern;
    v.shape = name;
    objects.push_back(indicator_json(v, v.modified));
    name_of[v.id] = name;
  }
  auto st = admin.add_objects("/api1/", k_intel, envelope(objects));
  REQUIRE(st);
  REQUIRE(st->success_count == static_cast<std::int64_t>(patterns.size()));
  auto found = [&](const std::string& value) {
    auto r = get(admin, "/cairn/v1/lookup?value=" + enc(value));
    REQUIRE(r.status == 200);
    auto doc = formats::parse_json(r.body);
    REQUIRE(doc);
    std::set<std::string> names;
    const auto matches = doc->root().get("matches");
    for (std::size_t i = 0; i < matches->size(); ++i) {
      names.insert(name_of[std::string(matches->value_at(i).get("id")->as_string())]);
    }
    return names;
  };
  // An address: every network that contains it (this much the random
  // comparison covers too).
  CHECK(found("192.0.2.50") == std::set<std::string>{"equal", "wider-subset", "widest",
                                                     "wider-host-bits", "address-inside",
                                                     "narrower"});
  // A network: the same network and every wider one (192.0.2.77/25 is
  // 192.0.2.0/25: it holds 192.0.2.48/29, not all of 192.0.2.0/24).
  CHECK(found("192.0.2.48/29") ==
        std::set<std::string>{"equal", "wider-subset", "widest", "wider-host-bits"});
  CHECK(found("192.0.2.0/24") == std::set<std::string>{"wider-subset", "widest"});
}

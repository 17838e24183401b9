#include "clients/synthetic_stix.hpp"

#include <array>
#include <cstdio>

#include "formats/hex.hpp"

namespace cairn::clients {

namespace {

// SplitMix64: small, fast and good enough to make test data.
struct rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
};

std::string uuid_v4(rng& r) {
  const std::uint64_t a = r.next(), b = r.next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string hex(rng& r, std::size_t digits) {
  std::string out;
  while (out.size() < digits) {
    std::uint64_t v = r.next();
    for (int i = 0; i < 16 && out.size() < digits; ++i, v >>= 4)
      out += formats::hex_digit(static_cast<unsigned>(v));
  }
  return out;
}

// "2026-MM-DDTHH:MM:SS.mmmZ" from seconds into 2026 (kept under a year).
std::string stamp(std::uint64_t seconds, unsigned millis) {
  static constexpr std::array<unsigned, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  seconds %= 365ULL * 86400;
  std::uint64_t day = seconds / 86400;
  unsigned month = 0;
  while (day >= days[month]) day -= days[month++];
  const std::uint64_t s = seconds % 86400;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-%02u-%02uT%02u:%02u:%02u.%03uZ", month + 1,
                static_cast<unsigned>(day + 1), static_cast<unsigned>(s / 3600),
                static_cast<unsigned>(s / 60 % 60), static_cast<unsigned>(s % 60), millis % 1000);
  return buf;
}

constexpr std::array<const char*, 8> words = {"cobalt", "lantern", "orchid", "harbor",
                                              "quartz", "meadow",  "falcon", "ember"};
constexpr std::array<const char*, 6> tlds = {"com", "net", "org", "info", "biz", "io"};
constexpr std::array<const char*, 9> markings = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",  // TLP 2.0 clear
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",  // green
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",  // amber
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",  // amber+strict
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",  // red
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",  // TLP 1.0 green
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",  // TLP 1.0 amber
    "",                                                          // unmarked
};
constexpr std::array<const char*, 4> kill_chain = {"reconnaissance", "delivery", "exploitation",
                                                   "command-and-control"};
constexpr const char* producer = "identity--b3d7e1f4-6a2c-4d1e-9f3b-2c5a7e9d1f08";

struct indicator_core {
  std::string id;
  std::string created;
  std::uint64_t created_seconds = 0;
  std::string pattern;
  std::string kind;
  std::string marking;
  int versions = 1;
};

std::string domain(rng& r) {
  return std::string(words[r.below(words.size())]) + "-" + hex(r, 6) + "." +
         words[r.below(words.size())] + "." + tlds[r.below(tlds.size())];
}

indicator_core new_core(rng& r) {
  indicator_core c;
  c.id = "indicator--" + uuid_v4(r);
  c.created_seconds = r.below(300ULL * 86400);
  c.created = stamp(c.created_seconds, static_cast<unsigned>(r.below(1000)));
  switch (r.below(4)) {
    case 0: {
      c.kind = "IPv4 address";
      c.pattern = "[ipv4-addr:value = '" + std::to_string(1 + r.below(223)) + "." +
                  std::to_string(r.below(256)) + "." + std::to_string(r.below(256)) + "." +
                  std::to_string(1 + r.below(254)) + "']";
      break;
    }
    case 1:
      c.kind = "domain";
      c.pattern = "[domain-name:value = '" + domain(r) + "']";
      break;
    case 2:
      c.kind = "URL";
      c.pattern = "[url:value = 'https://" + domain(r) + "/" + words[r.below(words.size())] + "/" +
                  hex(r, 12) + ".php']";
      break;
    default:
      c.kind = "file hash";
      c.pattern = "[file:hashes.'SHA-256' = '" + hex(r, 64) + "']";
      break;
  }
  c.marking = markings[r.below(markings.size())];
  return c;
}

std::string render(const indicator_core& c, int version, rng& r) {
  const std::string modified =
      version == 1 ? c.created
                   : stamp(c.created_seconds + static_cast<std::uint64_t>(version) * 86400,
                           static_cast<unsigned>(r.below(1000)));
  std::string o;
  o.reserve(900);
  o += R"({"type":"indicator","spec_version":"2.1","id":")" + c.id + R"(","created_by_ref":")" +
       producer + R"(","created":")" + c.created + R"(","modified":")" + modified + "\"";
  o += R"(,"name":"Malicious )" + c.kind + " seen in campaign " + words[r.below(words.size())] +
       "-" + std::to_string(r.below(100)) + "\"";
  o += R"(,"description":"Observed during incident response; )" +
       std::string(version > 1 ? "confidence revised after further analysis."
                               : "blocked at the perimeter.") +
       "\"";
  o += R"(,"indicator_types":["malicious-activity"],"pattern":")" + c.pattern +
       R"(","pattern_type":"stix","pattern_version":"2.1","valid_from":")" + c.created + "\"";
  o +=
      R"(,"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":")" +
      std::string(kill_chain[r.below(kill_chain.size())]) + "\"}]";
  o += R"(,"confidence":)" + std::to_string(30 + version * 10 + r.below(10));
  o += R"(,"labels":["bench"])";
  if (!c.marking.empty()) o += R"(,"object_marking_refs":[")" + c.marking + "\"]";
  o += "}";
  return o;
}

}  // namespace

std::vector<std::string> synthetic_indicators(std::size_t n, const synthetic_options& options) {
  rng r{options.seed};
  std::vector<std::string> out;
  out.reserve(n);
  std::vector<indicator_core> cores;
  cores.reserve(n);
  while (out.size() < n) {
    if (!cores.empty() && r.unit() < options.extra_version_share) {
      // A later version of a recent indicator (at most five versions each).
      indicator_core& c =
          cores[cores.size() - 1 - r.below(std::min<std::size_t>(cores.size(), 64))];
      if (c.versions < 5) {
        ++c.versions;
        out.push_back(render(c, c.versions, r));
        continue;
      }
    }
    cores.push_back(new_core(r));
    out.push_back(render(cores.back(), 1, r));
  }
  return out;
}

}  // namespace cairn::clients

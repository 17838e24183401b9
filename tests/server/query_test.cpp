// The `next` page tokens of server/api/query.hpp: bound to account, path and
// filters, tamper-evident, and opaque (the position is not readable).
#include "server/api/query.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace cairn::server;

namespace {

const std::string k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::vector<unsigned char> decode_b64url(const std::string& s) {
  std::vector<unsigned char> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const auto pos = k_alphabet.find(c);
    REQUIRE(pos != std::string::npos);
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string binding(const std::string& account, const std::string& path, const std::string& query) {
  auto q = parse_taxii_query(query, 100);
  REQUIRE(q);
  return account + "\n" + path + "\n" + q->filter_binding();
}

}  // namespace

TEST_CASE("a next token decodes only for its own account, path and filters") {
  page_token_codec codec(std::string(32, 'k'));
  const auto mine = binding("acme", "/r/collections/c/objects/", "match[type]=indicator");
  const micros position = 1'700'000'000'123'456;
  const auto token = codec.encode(position, mine);
  CHECK(codec.decode(token, mine) == position);
  CHECK_FALSE(
      codec.decode(token, binding("other", "/r/collections/c/objects/", "match[type]=indicator")));
  CHECK_FALSE(
      codec.decode(token, binding("acme", "/r/collections/d/objects/", "match[type]=indicator")));
  CHECK_FALSE(
      codec.decode(token, binding("acme", "/r/collections/c/manifest/", "match[type]=indicator")));
  CHECK_FALSE(
      codec.decode(token, binding("acme", "/r/collections/c/objects/", "match[type]=malware")));
  CHECK_FALSE(codec.decode(token, binding("acme", "/r/collections/c/objects/",
                                          "match[type]=indicator&match[version]=all")));
  // The page size is not a filter: a token survives a change of limit.
  CHECK(codec.decode(token, binding("acme", "/r/collections/c/objects/",
                                    "match[type]=indicator&limit=3")) == position);
  // Another server key.
  page_token_codec other(std::string(32, 'x'));
  CHECK_FALSE(other.decode(token, mine));
}

TEST_CASE("every altered character, truncation or extension of a token is refused") {
  page_token_codec codec(std::string(32, 'k'));
  const std::string b = "acme\n/p/\nfilters";
  const auto token = codec.encode(42, b);
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (char c : {'A', 'z', '0', '-', '_'}) {
      if (token[i] == c) continue;
      auto t = token;
      t[i] = c;
      INFO(t);
      CHECK_FALSE(codec.decode(t, b));
    }
    CHECK_FALSE(codec.decode(token.substr(0, i), b));
  }
  CHECK_FALSE(codec.decode(token + "A", b));
  CHECK_FALSE(codec.decode(token + "=", b));
  CHECK_FALSE(codec.decode("", b));
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string junk;
    const auto n = rng() % 40;
    for (std::size_t k = 0; k < n; ++k) junk += k_alphabet[rng() % k_alphabet.size()];
    CHECK_FALSE(codec.decode(junk, b));
  }
}

TEST_CASE("a token does not reveal its position") {
  page_token_codec codec(std::string(32, 'k'));
  const std::string b = "acme\n/p/\nfilters";
  // Consecutive positions: if the position were in clear, the decoded bytes
  // would hold it big-endian and differ in the last byte only.
  std::vector<std::vector<unsigned char>> raws;
  for (micros p = 1'700'000'000'000'000; p < 1'700'000'000'000'016; ++p) {
    auto raw = decode_b64url(codec.encode(p, b));
    REQUIRE(raw.size() == 24);
    std::uint64_t plain = 0;
    for (int i = 0; i < 8; ++i) plain = (plain << 8) | raw[static_cast<std::size_t>(i)];
    CHECK(plain != static_cast<std::uint64_t>(p));
    raws.push_back(std::move(raw));
  }
  int same_prefix = 0;
  for (std::size_t i = 1; i < raws.size(); ++i) {
    if (std::equal(raws[i].begin(), raws[i].begin() + 7, raws[i - 1].begin())) ++same_prefix;
  }
  CHECK(same_prefix == 0);
  // Deterministic: the same position and binding give the same token.
  CHECK(codec.encode(5, b) == codec.encode(5, b));
}

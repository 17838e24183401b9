#include "server/config/credentials.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

#include "formats/base64.hpp"

using namespace cairn::server;
using namespace cairn::formats;

namespace {

// The cheapest parameters hash_secret() accepts: the default cost.
const scrypt_params k_fast = default_scrypt_params();

}  // namespace

TEST_CASE("scrypt hashes verify the right secret only") {
  auto h = hash_secret("correct horse", k_fast);
  REQUIRE(h);
  CHECK(h->starts_with("$scrypt$ln=14,r=8,p=1$"));
  CHECK(verify_secret("correct horse", *h));
  CHECK_FALSE(verify_secret("correct horsf", *h));
  CHECK_FALSE(verify_secret("", *h));
  CHECK_FALSE(verify_secret("correct horse ", *h));

  auto again = hash_secret("correct horse", k_fast);
  REQUIRE(again);
  CHECK(*again != *h);  // fresh salt

  auto parsed = parse_scrypt_phc(*h);
  REQUIRE(parsed);
  CHECK(parsed->params.log2_n == 14);
  CHECK(parsed->salt.size() == 16);
  CHECK(parsed->hash.size() == 32);

  auto empty = hash_secret("", k_fast);
  REQUIRE(empty);
  CHECK(verify_secret("", *empty));
  CHECK_FALSE(verify_secret("x", *empty));
}

TEST_CASE("default scrypt parameters are used and honoured") {
  auto h = hash_secret("s3cret");
  REQUIRE(h);
  const auto d = default_scrypt_params();
  CHECK(h->starts_with("$scrypt$ln=" + std::to_string(d.log2_n) + ",r=" + std::to_string(d.r) +
                       ",p=" + std::to_string(d.p) + "$"));
  CHECK(verify_secret("s3cret", *h));
}

TEST_CASE("tampered scrypt strings do not verify") {
  auto h = hash_secret("pw", k_fast);
  REQUIRE(h);
  std::string s = *h;

  // Flip one character of the hash part (keeping it valid base64).
  std::string flipped = s;
  flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(verify_secret("pw", flipped));

  // Change the salt.
  const auto salt_at = s.find('$', 9) + 1;
  std::string salted = s;
  salted[salt_at] = salted[salt_at] == 'A' ? 'B' : 'A';
  CHECK_FALSE(verify_secret("pw", salted));

  // Change a parameter: a different r derives a different key.
  std::string other_r = s;
  other_r.replace(other_r.find(",r=8,"), 5, ",r=9,");
  CHECK_FALSE(verify_secret("pw", other_r));

  // Truncated hash part: scrypt's shorter outputs are prefixes of its longer
  // ones, so only the length check stands between this and a match.
  CHECK_FALSE(verify_secret("pw", s.substr(0, s.size() - 4)));
  const auto cut = s.rfind('$') + 1;
  const auto key = base64_decode(s.substr(cut), base64_alphabet::standard, base64_padding::none);
  REQUIRE(key);
  CHECK_FALSE(verify_secret(
      "pw", s.substr(0, cut) + base64_encode(key->substr(0, 16), base64_alphabet::standard,
                                             base64_padding::none)));
  // Garbage.
  CHECK_FALSE(verify_secret("pw", ""));
  CHECK_FALSE(verify_secret("pw", "pw"));
  CHECK_FALSE(verify_secret("pw", "$sha256$" + sha256_hex("pw")));
}

TEST_CASE("PHC strings with excessive or malformed parameters are refused without a KDF run") {
  const std::string salt = "$c2FsdHNhbHRzYWx0$";  // "saltsaltsalt"
  const std::string hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
  const std::vector<std::string> bad = {
      "$scrypt$ln=21,r=8,p=1" + salt + hash,    // N too large
      "$scrypt$ln=20,r=8,p=1" + salt + hash,    // 1 GiB of memory
      "$scrypt$ln=14,r=64,p=1" + salt + hash,   // r too large
      "$scrypt$ln=14,r=8,p=17" + salt + hash,   // p too large
      "$scrypt$ln=17,r=16,p=16" + salt + hash,  // too much work
      "$scrypt$ln=9,r=8,p=1" + salt + hash,     // too weak
      // Below the cost hash-secret writes (16 MiB): an account with such a
      // hash answers a wrong password faster than an unknown name does.
      // Before: both were accepted.
      "$scrypt$ln=10,r=1,p=1" + salt + hash,
      "$scrypt$ln=13,r=8,p=1" + salt + hash,
      "$scrypt$ln=14,r=4,p=4" + salt + hash,
      "$scrypt$ln=14,r=0,p=1" + salt + hash,                      // r zero
      "$scrypt$ln=014,r=8,p=1" + salt + hash,                     // leading zero
      "$scrypt$ln=14,r=8" + salt + hash,                          // missing p
      "$scrypt$r=8,ln=14,p=1" + salt + hash,                      // wrong order
      "$scrypt$ln=14,r=8,p=1,x=1" + salt + hash,                  // extra parameter
      "$scrypt$ln=-1,r=8,p=1" + salt + hash,                      // sign
      "$scrypt$ln=14,r=8,p=1$c2FsdA$" + hash,                     // salt too short
      "$scrypt$ln=14,r=8,p=1" + salt + "aGFzaA",                  // hash too short
      "$scrypt$ln=14,r=8,p=1" + salt + "aGFzaGhhc2hoYXNoaGFzaA",  // 16 bytes: a prefix would verify
      "$scrypt$ln=14,r=8,p=1" + salt +
          "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFz"
          "aA",                                      // 64 bytes
      "$scrypt$ln=14,r=8,p=1" + salt + hash + "=",   // padding
      "$scrypt$ln=14,r=8,p=1" + salt + hash + "$x",  // extra field
      "$scrypt$ln=99999999999,r=8,p=1" + salt + hash,
      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA",
  };
  REQUIRE(parse_scrypt_phc("$scrypt$ln=14,r=8,p=1" + salt + hash));  // the control
  REQUIRE(parse_scrypt_phc("$scrypt$ln=15,r=4,p=1" + salt + hash));  // the same 16 MiB
  const auto before = scrypt_evaluations();
  for (const auto& phc : bad) {
    INFO(phc);
    CHECK_FALSE(parse_scrypt_phc(phc));
    CHECK_FALSE(verify_secret("pw", phc));
  }
  CHECK(scrypt_evaluations() == before);
  CHECK(parse_scrypt_phc(bad.back()).error().message.find("argon2") != std::string::npos);
  // hash_secret refuses out-of-bounds parameters too.
  CHECK_FALSE(hash_secret("pw", scrypt_params{25, 8, 1}));
  // And parameters below the floor (before: hashed and accepted).
  CHECK_FALSE(hash_secret("pw", scrypt_params{10, 1, 1}));
  CHECK_FALSE(hash_secret("pw", scrypt_params{10, 8, 1}));
}

TEST_CASE("API tokens are random, hashed with SHA-256 and verified") {
  auto a = issue_token();
  auto b = issue_token();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->token != b->token);
  CHECK(a->token.starts_with("cairn_"));
  CHECK(a->token.size() == 6 + 43);  // 32 bytes of base64url
  auto raw = base64_decode(a->token.substr(6), base64_alphabet::url, base64_padding::none);
  REQUIRE(raw);
  CHECK(raw->size() == 32);
  CHECK(a->hash == token_hash(a->token));
  CHECK(a->hash == "$sha256$" + sha256_hex(a->token));
  CHECK(is_token_hash(a->hash));
  CHECK(verify_token(a->token, a->hash));
  CHECK_FALSE(verify_token(b->token, a->hash));
  CHECK_FALSE(verify_token(a->token + "x", a->hash));
  CHECK_FALSE(verify_token(a->token, "$sha256$" + std::string(64, 'G')));

  CHECK_FALSE(is_token_hash("$sha256$" + std::string(63, 'a')));
  CHECK_FALSE(is_token_hash("$sha256$" + std::string(64, 'A')));
  CHECK_FALSE(is_token_hash("$sha512$" + std::string(64, 'a')));
  // The SHA-256 of "abc" (FIPS 180-2).
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("constant_time_equal compares bytes") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
}

TEST_CASE("the credential cache remembers for its TTL only") {
  auto now = credential_cache::clock::time_point{};
  credential_cache cache(std::chrono::seconds(300), 100, [&now] { return now; });
  CHECK_FALSE(cache.contains("alice", "pw", "$scrypt$h1"));
  cache.insert("alice", "pw", "$scrypt$h1");
  CHECK(cache.contains("alice", "pw", "$scrypt$h1"));
  CHECK_FALSE(cache.contains("alice", "pw2", "$scrypt$h1"));
  CHECK_FALSE(cache.contains("alice", "pw", "$scrypt$h2"));  // the stored hash changed
  CHECK_FALSE(cache.contains("bob", "pw", "$scrypt$h1"));
  // Length prefixes keep ("ab","c") apart from ("a","bc").
  cache.insert("ab", "c", "h");
  CHECK_FALSE(cache.contains("a", "bc", "h"));

  now += std::chrono::seconds(299);
  CHECK(cache.contains("alice", "pw", "$scrypt$h1"));
  now += std::chrono::seconds(1);
  CHECK_FALSE(cache.contains("alice", "pw", "$scrypt$h1"));

  cache.insert("alice", "pw", "$scrypt$h1");
  CHECK(cache.contains("alice", "pw", "$scrypt$h1"));
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.contains("alice", "pw", "$scrypt$h1"));
}

TEST_CASE("the credential cache answers several threads at once") {
  credential_cache cache;
  cache.insert("alice", "pw", "$scrypt$h1");
  std::vector<std::thread> threads;
  std::vector<int> hits(4, 0);
  for (std::size_t t = 0; t < hits.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (cache.contains("alice", "pw", "$scrypt$h1") &&
            !cache.contains("alice", "pw" + std::to_string(i), "$scrypt$h1")) {
          ++hits[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(hits == std::vector<int>(4, 200));
}

TEST_CASE("the credential cache stays within its bound") {
  auto now = credential_cache::clock::time_point{};
  credential_cache cache(std::chrono::seconds(300), 8, [&now] { return now; });
  for (int i = 0; i < 20; ++i) {
    now += std::chrono::seconds(1);
    cache.insert("user" + std::to_string(i), "pw", "h");
    CHECK(cache.size() <= 8);
  }
  // The newest survive, the oldest went first.
  CHECK(cache.contains("user19", "pw", "h"));
  CHECK(cache.contains("user12", "pw", "h"));
  CHECK_FALSE(cache.contains("user0", "pw", "h"));
  CHECK_FALSE(cache.contains("user11", "pw", "h"));
}

TEST_CASE("the credential cache is safe to share between threads") {
  credential_cache cache(std::chrono::seconds(300), 64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 500; ++i) {
        const auto name = "u" + std::to_string((t * 500 + i) % 100);
        cache.insert(name, "pw", "h");
        (void)cache.contains(name, "pw", "h");
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(cache.size() <= 64);
}

// RFC 9162 Merkle trees: the reference values published by the
// transparency-dev/merkle project (testonly/constants.go and
// proof/verify_test.go), restated here as facts, and proofs for random tree
// sizes up to 100,000 checked by a verifier written independently below.
#include "formats/merkle.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace cairn::formats::merkle;

namespace {

digest d(const char* hex) {
  auto v = from_hex(hex);
  REQUIRE(v);
  return *v;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The eight leaf inputs of the reference tree.
std::vector<std::string> reference_leaves() {
  return {unhex(""),
          unhex("00"),
          unhex("10"),
          unhex("2021"),
          unhex("3031"),
          unhex("40414243"),
          unhex("5051525354555657"),
          unhex("606162636465666768696a6b6c6d6e6f")};
}

std::vector<digest> reference_leaf_hashes() {
  std::vector<digest> out;
  for (const auto& l : reference_leaves()) out.push_back(leaf_hash(l));
  return out;
}

// Root hashes of the trees of the first 1..8 reference leaves.
const char* const k_roots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

const char* const k_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char* const k_some = "abacaba000000000000000000000000000000000000000000060061e00123456";

struct inclusion_vector {
  std::uint64_t leaf;  // 1-based, as in the reference
  std::uint64_t size;
  std::vector<const char*> proof;
};

const std::vector<inclusion_vector> k_inclusion = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {3, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {2,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct consistency_vector {
  std::uint64_t size1;
  std::uint64_t size2;
  std::vector<const char*> proof;
};

const std::vector<consistency_vector> k_consistency = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<digest> digests(const std::vector<const char*>& hex) {
  std::vector<digest> out;
  for (const char* h : hex) out.push_back(d(h));
  return out;
}

std::vector<digest> generated(const std::vector<range>& nodes, const std::vector<digest>& leaves) {
  return hash_nodes(nodes, [&](range r) { return range_hash(leaves, r); });
}

digest flip(digest x, int bit) {
  x[0] ^= static_cast<std::uint8_t>(1 << bit);
  return x;
}

// ---- an independent verifier: the RFC's recursive definitions run backwards.
// PATH and SUBPROOF append the sibling after the sub-proof, so the last
// element of a proof belongs to the top of the tree: walk down from the top,
// taking elements from the back.

std::optional<digest> root_from_path(std::uint64_t m, std::uint64_t n, const digest& leaf,
                                     std::vector<digest>& proof) {
  if (n == 1) return leaf;
  if (proof.empty()) return std::nullopt;
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  const digest sibling = proof.back();
  proof.pop_back();
  if (m < k) {
    auto left = root_from_path(m, k, leaf, proof);
    if (!left) return std::nullopt;
    return node_hash(*left, sibling);
  }
  auto right = root_from_path(m - k, n - k, leaf, proof);
  if (!right) return std::nullopt;
  return node_hash(sibling, *right);
}

bool independent_inclusion(std::uint64_t m, std::uint64_t n, const digest& leaf,
                           std::vector<digest> proof, const digest& root) {
  if (m >= n) return false;
  auto r = root_from_path(m, n, leaf, proof);
  return r && proof.empty() && *r == root;
}

struct both_roots {
  digest old_root;
  digest new_root;
};

std::optional<both_roots> roots_from_subproof(std::uint64_t m, std::uint64_t n, bool whole,
                                              const digest& first_root,
                                              std::vector<digest>& proof) {
  if (m == n) {
    if (whole) return both_roots{first_root, first_root};
    if (proof.empty()) return std::nullopt;
    const digest node = proof.back();
    proof.pop_back();
    return both_roots{node, node};
  }
  if (proof.empty()) return std::nullopt;
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  const digest sibling = proof.back();
  proof.pop_back();
  if (m <= k) {
    auto sub = roots_from_subproof(m, k, whole, first_root, proof);
    if (!sub) return std::nullopt;
    return both_roots{sub->old_root, node_hash(sub->new_root, sibling)};
  }
  auto sub = roots_from_subproof(m - k, n - k, false, first_root, proof);
  if (!sub) return std::nullopt;
  return both_roots{node_hash(sibling, sub->old_root), node_hash(sibling, sub->new_root)};
}

bool independent_consistency(std::uint64_t m, std::uint64_t n, const digest& r1, const digest& r2,
                             std::vector<digest> proof) {
  if (m == 0 || m > n) return false;
  if (m == n) return proof.empty() && r1 == r2;
  auto roots = roots_from_subproof(m, n, true, r1, proof);
  return roots && proof.empty() && roots->old_root == r1 && roots->new_root == r2;
}

}  // namespace

TEST_CASE("merkle: leaf and node hashes of the reference tree") {
  const auto leaves = reference_leaf_hashes();
  const char* const level0[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
      "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  };
  for (std::size_t i = 0; i < 8; ++i) CHECK(to_hex(leaves[i]) == level0[i]);

  const char* const level1[] = {
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  };
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(to_hex(node_hash(leaves[2 * i], leaves[2 * i + 1])) == level1[i]);
    CHECK(to_hex(range_hash(leaves, {2 * i, 2 * i + 2})) == level1[i]);
  }
  CHECK(to_hex(range_hash(leaves, {0, 4})) ==
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  CHECK(to_hex(range_hash(leaves, {4, 8})) ==
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  CHECK(to_hex(empty_root()) == k_empty);
  CHECK(to_hex(root_of({})) == k_empty);
}

TEST_CASE("merkle: roots of the first n reference leaves") {
  const auto leaves = reference_leaf_hashes();
  tree_builder b;
  CHECK(to_hex(b.root()) == k_empty);
  for (std::size_t n = 1; n <= 8; ++n) {
    CHECK(to_hex(root_of(std::span(leaves).first(n))) == k_roots[n - 1]);
    b.append(leaves[n - 1]);
    CHECK(to_hex(b.root()) == k_roots[n - 1]);
  }
}

TEST_CASE("merkle: tree_builder reports each complete subtree once") {
  const auto leaves = reference_leaf_hashes();
  std::vector<std::tuple<unsigned, std::uint64_t, std::string>> seen;
  tree_builder b(
      [&](unsigned h, std::uint64_t i, const digest& x) { seen.emplace_back(h, i, to_hex(x)); });
  for (const auto& l : leaves) b.append(l);
  CHECK(seen.size() == 15);  // 8 leaves, 4 pairs, 2 quads, 1 root
  CHECK(std::count(seen.begin(), seen.end(),
                   std::tuple<unsigned, std::uint64_t, std::string>{
                       1, 2, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"}) ==
        1);
  CHECK(std::count(seen.begin(), seen.end(),
                   std::tuple<unsigned, std::uint64_t, std::string>{3, 0, k_roots[7]}) == 1);
}

TEST_CASE("merkle: hex round trip and refusals") {
  const digest x = d(k_some);
  CHECK(to_hex(x) == k_some);
  CHECK(from_hex("ABACABA000000000000000000000000000000000000000000060061E00123456") == x);
  CHECK_FALSE(from_hex(""));
  CHECK_FALSE(from_hex(std::string(63, 'a')));
  CHECK_FALSE(from_hex(std::string(65, 'a')));
  CHECK_FALSE(from_hex(std::string(63, 'a') + "g"));
}

TEST_CASE("merkle: split points") {
  CHECK(split_point(2) == 1);
  CHECK(split_point(3) == 2);
  CHECK(split_point(4) == 2);
  CHECK(split_point(5) == 4);
  CHECK(split_point(8) == 4);
  CHECK(split_point(9) == 8);
  CHECK(split_point(std::uint64_t{1} << 40) == std::uint64_t{1} << 39);
}

TEST_CASE("merkle: inclusion proofs match the reference vectors") {
  const auto leaves = reference_leaf_hashes();
  for (const auto& v : k_inclusion) {
    INFO("leaf " << v.leaf << " of " << v.size);
    const auto expected = digests(v.proof);
    const auto proof = generated(inclusion_nodes(v.leaf - 1, v.size), leaves);
    CHECK(proof == expected);
    const digest root = d(k_roots[v.size - 1]);
    const digest leaf = leaves[v.leaf - 1];
    CHECK(verify_inclusion(v.leaf - 1, v.size, leaf, expected, root));
    CHECK(independent_inclusion(v.leaf - 1, v.size, leaf, expected, root));
  }
  CHECK(inclusion_nodes(0, 0).empty());
}

TEST_CASE("merkle: corrupted inclusion proofs are refused") {
  const auto leaves = reference_leaf_hashes();
  const digest some = d(k_some);
  const digest empty = d(k_empty);
  for (const auto& v : k_inclusion) {
    if (v.size == 1) continue;
    INFO("leaf " << v.leaf << " of " << v.size);
    const auto proof = digests(v.proof);
    const std::uint64_t i = v.leaf - 1;
    const std::uint64_t n = v.size;
    const digest root = d(k_roots[n - 1]);
    const digest leaf = leaves[i];
    REQUIRE(verify_inclusion(i, n, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i - 1, n, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i + 1, n, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i ^ 2, n, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i, n * 2, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i, n / 2, leaf, proof, root));
    CHECK_FALSE(verify_inclusion(i, n, sha256("WrongLeaf"), proof, root));
    CHECK_FALSE(verify_inclusion(i, n, leaf, proof, empty));
    CHECK_FALSE(verify_inclusion(i, n, leaf, proof, some));
    auto longer = proof;
    longer.push_back(root);
    CHECK_FALSE(verify_inclusion(i, n, leaf, longer, root));
    auto front = proof;
    front.insert(front.begin(), root);
    CHECK_FALSE(verify_inclusion(i, n, leaf, front, root));
    for (std::size_t k = 0; k < proof.size(); ++k) {
      auto bad = proof;
      bad[k] = flip(bad[k], 3);
      CHECK_FALSE(verify_inclusion(i, n, leaf, bad, root));
      CHECK_FALSE(independent_inclusion(i, n, leaf, bad, root));
    }
    auto shorter = proof;
    shorter.pop_back();
    CHECK_FALSE(verify_inclusion(i, n, leaf, shorter, root));
    if (proof.size() > 1) {
      auto inserted = proof;
      inserted.insert(inserted.begin() + 1, some);
      CHECK_FALSE(verify_inclusion(i, n, leaf, inserted, root));
    }
  }
}

TEST_CASE("merkle: inclusion with degenerate sizes") {
  const digest leaf = leaf_hash("data");
  // A tree of one leaf has the leaf hash as root and an empty proof.
  CHECK(verify_inclusion(0, 1, leaf, {}, leaf));
  CHECK_FALSE(verify_inclusion(0, 1, leaf, {}, d(k_empty)));
  for (auto [i, n] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}, {1, 0}, {2, 1}}) {
    CHECK_FALSE(verify_inclusion(i, n, d(k_some), {}, d(k_empty)));
  }
}

TEST_CASE("merkle: consistency proofs match the reference vectors") {
  const auto leaves = reference_leaf_hashes();
  for (const auto& v : k_consistency) {
    INFO(v.size1 << " -> " << v.size2);
    const auto expected = digests(v.proof);
    CHECK(generated(consistency_nodes(v.size1, v.size2), leaves) == expected);
    const digest r1 = d(k_roots[v.size1 - 1]);
    const digest r2 = d(k_roots[v.size2 - 1]);
    CHECK(verify_consistency(v.size1, v.size2, r1, r2, expected));
    CHECK(independent_consistency(v.size1, v.size2, r1, r2, expected));
  }
}

TEST_CASE("merkle: corrupted consistency proofs are refused") {
  for (const auto& v : k_consistency) {
    if (v.proof.empty()) continue;
    INFO(v.size1 << " -> " << v.size2);
    const auto proof = digests(v.proof);
    const std::uint64_t m = v.size1;
    const std::uint64_t n = v.size2;
    const digest r1 = d(k_roots[m - 1]);
    const digest r2 = d(k_roots[n - 1]);
    CHECK_FALSE(verify_consistency(m - 1, n, r1, r2, proof));
    CHECK_FALSE(verify_consistency(m + 1, n, r1, r2, proof));
    CHECK_FALSE(verify_consistency(m ^ 2, n, r1, r2, proof));
    CHECK_FALSE(verify_consistency(m, n * 2, r1, r2, proof));
    CHECK_FALSE(verify_consistency(m, n / 2, r1, r2, proof));
    CHECK_FALSE(verify_consistency(m, n, sha256("WrongRoot"), r2, proof));
    CHECK_FALSE(verify_consistency(m, n, r1, sha256("WrongRoot"), proof));
    CHECK_FALSE(verify_consistency(m, n, r2, r1, proof));
    CHECK_FALSE(verify_consistency(m, n, r1, r2, {}));
    for (const digest& extra : {r1, r2}) {
      auto longer = proof;
      longer.push_back(extra);
      CHECK_FALSE(verify_consistency(m, n, r1, r2, longer));
      auto front = proof;
      front.insert(front.begin(), extra);
      CHECK_FALSE(verify_consistency(m, n, r1, r2, front));
    }
    auto again = proof;
    again.insert(again.begin(), proof[0]);
    CHECK_FALSE(verify_consistency(m, n, r1, r2, again));
    auto shorter = proof;
    shorter.pop_back();
    CHECK_FALSE(verify_consistency(m, n, r1, r2, shorter));
    for (std::size_t k = 0; k < proof.size(); ++k) {
      auto bad = proof;
      bad[k] = flip(bad[k], 4);
      CHECK_FALSE(verify_consistency(m, n, r1, r2, bad));
      CHECK_FALSE(independent_consistency(m, n, r1, r2, bad));
    }
  }
}

TEST_CASE("merkle: consistency with degenerate sizes") {
  const digest r1 = sha256("don't care 1");
  const digest r2 = sha256("don't care 2");
  const digest empty = d(k_empty);
  CHECK_FALSE(verify_consistency(0, 0, r1, r2, {}));
  CHECK_FALSE(verify_consistency(1, 1, r1, r2, {}));
  CHECK(verify_consistency(0, 0, r1, r1, {}));
  CHECK(verify_consistency(0, 1, r1, r2, {}));
  CHECK(verify_consistency(1, 1, r2, r2, {}));
  CHECK_FALSE(verify_consistency(1, 0, r1, r2, {}));
  CHECK_FALSE(verify_consistency(2, 1, r1, r2, {}));
  CHECK_FALSE(verify_consistency(1, 2, r1, r2, {}));
  CHECK_FALSE(verify_consistency(0, 0, empty, r2, {}));
  CHECK_FALSE(verify_consistency(1, 1, empty, r2, {}));
  const std::vector<digest> one = {empty};
  CHECK_FALSE(verify_consistency(0, 0, empty, empty, one));
  CHECK_FALSE(verify_consistency(0, 1, empty, empty, one));
  CHECK_FALSE(verify_consistency(1, 1, empty, empty, one));
}

TEST_CASE("merkle: proofs for random tree sizes up to 100,000") {
  std::mt19937_64 rng(20261127);
  const std::uint64_t max_size = 100'000;
  std::vector<digest> leaves;
  leaves.reserve(max_size);
  for (std::uint64_t i = 0; i < max_size; ++i) leaves.push_back(leaf_hash(std::to_string(rng())));

  // Roots of every prefix, from the incremental builder (checked against the
  // recursive definition at the sizes drawn below).
  std::vector<digest> roots(max_size + 1);
  tree_builder b;
  roots[0] = b.root();
  for (std::uint64_t i = 0; i < max_size; ++i) {
    b.append(leaves[i]);
    roots[i + 1] = b.root();
  }

  std::vector<std::uint64_t> sizes = {1,   2,   3,     7,     8,     9,       255,
                                      256, 257, 65535, 65536, 65537, max_size};
  for (int i = 0; i < 24; ++i) sizes.push_back(1 + rng() % max_size);
  for (int i = 0; i < 40; ++i) sizes.push_back(1 + rng() % 2000);
  for (std::uint64_t n : sizes) {
    INFO("tree size " << n);
    const std::span<const digest> tree(leaves.data(), n);
    REQUIRE(root_of(tree) == roots[n]);

    for (int k = 0; k < 8; ++k) {
      const std::uint64_t m = k == 0 ? 0 : k == 1 ? n - 1 : rng() % n;
      const auto proof = generated(inclusion_nodes(m, n), leaves);
      CHECK(verify_inclusion(m, n, leaves[m], proof, roots[n]));
      CHECK(independent_inclusion(m, n, leaves[m], proof, roots[n]));
      if (n > 1) {
        // The wrong leaf, and any changed node, fail both verifiers.
        const std::uint64_t other = (m + 1) % n;
        CHECK_FALSE(verify_inclusion(m, n, leaves[other], proof, roots[n]));
        CHECK_FALSE(independent_inclusion(m, n, leaves[other], proof, roots[n]));
        auto bad = proof;
        bad[rng() % bad.size()] = flip(bad[0], 0);
        CHECK_FALSE(verify_inclusion(m, n, leaves[m], bad, roots[n]));
      }

      const std::uint64_t from = k == 0 ? n : 1 + rng() % n;
      const auto cproof = generated(consistency_nodes(from, n), leaves);
      CHECK(verify_consistency(from, n, roots[from], roots[n], cproof));
      CHECK(independent_consistency(from, n, roots[from], roots[n], cproof));
      if (from < n) {
        CHECK_FALSE(verify_consistency(from, n, roots[from - 1], roots[n], cproof));
        CHECK_FALSE(verify_consistency(from, n, roots[from], roots[n - 1], cproof));
        CHECK_FALSE(independent_consistency(from, n, roots[from], roots[n - 1], cproof));
      }
    }
  }
}

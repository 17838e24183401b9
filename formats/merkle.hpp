#pragma once
// RFC 9162 (Certificate Transparency 2.0) Merkle trees over SHA-256,
// section 2.1: leaf and node hashes, the root of the first n leaves, and
// inclusion (2.1.3) and consistency (2.1.4) proofs, generation and
// verification.
//
// Generation is kept apart from hashing: inclusion_nodes() and
// consistency_nodes() name the subtrees (leaf ranges of the RFC's recursion)
// whose hashes form a proof, in proof order, and the caller hashes them from
// wherever its leaves live (a vector here, the audit log's stored tree in
// storage/). Every range such a function returns is either a complete subtree
// aligned to its size or the right edge [begin, n) of a tree of n leaves.
//
// Pure functions and value types; any thread.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::formats::merkle {

using digest = std::array<std::uint8_t, 32>;

digest sha256(std::string_view data);
// SHA-256(0x00 || leaf): the hash of one leaf (an audit record's body).
digest leaf_hash(std::string_view leaf);
// SHA-256(0x01 || left || right).
digest node_hash(const digest& left, const digest& right);
// SHA-256 of nothing: the root of the empty tree.
digest empty_root();

// Lower-case hex, 64 digits.
std::string to_hex(const digest& d);
// Exactly 64 hex digits (either case); std::nullopt otherwise.
std::optional<digest> from_hex(std::string_view hex);

// The leaves [begin, end) as one node of the tree.
struct range {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
  bool operator==(const range&) const = default;
};

// The largest power of two strictly smaller than n; n must be at least 2.
std::uint64_t split_point(std::uint64_t n);

// PATH(index, D[tree_size]) of RFC 9162 2.1.3.1, as the ranges whose hashes
// are the audit path, nearest the leaf first. Requires index < tree_size.
std::vector<range> inclusion_nodes(std::uint64_t index, std::uint64_t tree_size);

// PROOF(from, D[to]) of RFC 9162 2.1.4.1, as ranges. Requires
// 0 < from <= to; empty when from == to.
std::vector<range> consistency_nodes(std::uint64_t from, std::uint64_t to);

// Hashes of the given ranges, each computed by hash_of.
std::vector<digest> hash_nodes(const std::vector<range>& nodes,
                               const std::function<digest(range)>& hash_of);

// MTH(D[r.begin:r.end]) over leaf hashes held in memory (r within them).
digest range_hash(std::span<const digest> leaf_hashes, range r);
// MTH of all the leaf hashes (empty_root() for none).
digest root_of(std::span<const digest> leaf_hashes);

// RFC 9162 2.1.3.2: does proof show that leaf is leaf number index of the
// tree of tree_size leaves whose root is root?
bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const digest& leaf,
                      std::span<const digest> proof, const digest& root);

// RFC 9162 2.1.4.2: does proof show that the tree of `to` leaves with root
// to_root extends the tree of `from` leaves with root from_root? Equal sizes
// need an empty proof and equal roots; from == 0 needs an empty proof.
bool verify_consistency(std::uint64_t from, std::uint64_t to, const digest& from_root,
                        const digest& to_root, std::span<const digest> proof);

// Builds the tree one leaf hash at a time in O(log n) memory: the root of the
// leaves so far at any moment. Used to recompute a whole log's tree.
class tree_builder {
 public:
  // Called for each complete subtree as it forms: its height (0 for a leaf),
  // its index among the subtrees of that height, and its hash.
  using on_subtree = std::function<void(unsigned height, std::uint64_t index, const digest&)>;

  explicit tree_builder(on_subtree observer = {}) : observer_(std::move(observer)) {}

  void append(const digest& leaf);
  std::uint64_t size() const { return size_; }
  digest root() const;

 private:
  on_subtree observer_;
  std::uint64_t size_ = 0;
  std::vector<digest> stack_;  // complete subtrees, largest first (the bits of size_)
};

}  // namespace cairn::formats::merkle

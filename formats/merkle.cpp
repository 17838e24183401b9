#include "formats/merkle.hpp"

#include <openssl/evp.h>

#include <bit>
#include <cstring>

#include "formats/hex.hpp"
#include "formats/openssl.hpp"

namespace cairn::formats::merkle {

namespace {

// One digest context per thread, reused: EVP_MD_CTX_new per hash would cost
// more than hashing a node.
struct sha256_context {
  evp_md_ptr md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
};

// SHA-256 of one prefix byte and up to two parts, without copying them.
digest hash_parts(const std::uint8_t* prefix, std::string_view a, std::string_view b = {}) {
  thread_local sha256_context c;
  digest out;
  unsigned int n = 0;
  // Only allocation failure makes these fail; a zero digest then never
  // matches a real one.
  if (!c.md || !c.ctx || EVP_DigestInit_ex(c.ctx.get(), c.md.get(), nullptr) != 1 ||
      (prefix && EVP_DigestUpdate(c.ctx.get(), prefix, 1) != 1) ||
      EVP_DigestUpdate(c.ctx.get(), a.data(), a.size()) != 1 ||
      (!b.empty() && EVP_DigestUpdate(c.ctx.get(), b.data(), b.size()) != 1) ||
      EVP_DigestFinal_ex(c.ctx.get(), out.data(), &n) != 1) {
    out.fill(0);
  }
  return out;
}

std::string_view bytes_of(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

void path(std::uint64_t m, range r, std::vector<range>& out) {
  if (r.size() <= 1) return;
  const std::uint64_t k = split_point(r.size());
  if (m < k) {
    path(m, {r.begin, r.begin + k}, out);
    out.push_back({r.begin + k, r.end});
  } else {
    path(m - k, {r.begin + k, r.end}, out);
    out.push_back({r.begin, r.begin + k});
  }
}

void subproof(std::uint64_t m, range r, bool whole, std::vector<range>& out) {
  if (m == r.size()) {
    if (!whole) out.push_back(r);
    return;
  }
  const std::uint64_t k = split_point(r.size());
  if (m <= k) {
    subproof(m, {r.begin, r.begin + k}, whole, out);
    out.push_back({r.begin + k, r.end});
  } else {
    subproof(m - k, {r.begin + k, r.end}, false, out);
    out.push_back({r.begin, r.begin + k});
  }
}

}  // namespace

digest sha256(std::string_view data) {
  return hash_parts(nullptr, data);
}

digest leaf_hash(std::string_view leaf) {
  static constexpr std::uint8_t zero = 0;
  return hash_parts(&zero, leaf);
}

digest node_hash(const digest& left, const digest& right) {
  static constexpr std::uint8_t one = 1;
  return hash_parts(&one, bytes_of(left), bytes_of(right));
}

digest empty_root() {
  return sha256({});
}

std::string to_hex(const digest& d) {
  return hex_encode(d.data(), d.size());
}

std::optional<digest> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto bytes = hex_decode(hex);
  if (!bytes) return std::nullopt;
  digest d;
  std::memcpy(d.data(), bytes->data(), d.size());
  return d;
}

std::uint64_t split_point(std::uint64_t n) {
  // n >= 2: the highest set bit of n - 1.
  return std::bit_floor(n - 1);
}

std::vector<range> inclusion_nodes(std::uint64_t index, std::uint64_t tree_size) {
  std::vector<range> out;
  if (index < tree_size) path(index, {0, tree_size}, out);
  return out;
}

std::vector<range> consistency_nodes(std::uint64_t from, std::uint64_t to) {
  std::vector<range> out;
  if (from > 0 && from < to) subproof(from, {0, to}, true, out);
  return out;
}

std::vector<digest> hash_nodes(const std::vector<range>& nodes,
                               const std::function<digest(range)>& hash_of) {
  std::vector<digest> out;
  out.reserve(nodes.size());
  for (const range& r : nodes) out.push_back(hash_of(r));
  return out;
}

digest range_hash(std::span<const digest> leaf_hashes, range r) {
  if (r.size() == 0) return empty_root();
  if (r.size() == 1) return leaf_hashes[r.begin];
  const std::uint64_t k = split_point(r.size());
  return node_hash(range_hash(leaf_hashes, {r.begin, r.begin + k}),
                   range_hash(leaf_hashes, {r.begin + k, r.end}));
}

digest root_of(std::span<const digest> leaf_hashes) {
  return range_hash(leaf_hashes, {0, leaf_hashes.size()});
}

bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const digest& leaf,
                      std::span<const digest> proof, const digest& root) {
  if (index >= tree_size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  digest r = leaf;
  for (const digest& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t from, std::uint64_t to, const digest& from_root,
                        const digest& to_root, std::span<const digest> proof) {
  if (to < from) return false;
  if (from == to) return proof.empty() && from_root == to_root;
  if (from == 0) return proof.empty();
  if (proof.empty()) return false;

  // A first tree whose size is a power of two is itself a node of the second
  // tree: the proof then starts implicitly with its root.
  std::vector<digest> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(from)) path.push_back(from_root);
  path.insert(path.end(), proof.begin(), proof.end());

  std::uint64_t fn = from - 1;
  std::uint64_t sn = to - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  digest fr = path[0];
  digest sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const digest& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == from_root && sr == to_root && sn == 0;
}

void tree_builder::append(const digest& leaf) {
  digest carry = leaf;
  unsigned height = 0;
  if (observer_) observer_(0, size_, carry);
  // Each trailing one bit of size_ is a complete subtree that merges with
  // the new one, as in a binary counter.
  for (std::uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    carry = node_hash(stack_.back(), carry);
    stack_.pop_back();
    ++height;
    if (observer_) observer_(height, (size_ + 1) / (std::uint64_t{1} << height) - 1, carry);
  }
  stack_.push_back(carry);
  ++size_;
}

digest tree_builder::root() const {
  if (stack_.empty()) return empty_root();
  digest r = stack_.back();
  for (std::size_t i = stack_.size() - 1; i-- > 0;) r = node_hash(stack_[i], r);
  return r;
}

}  // namespace cairn::formats::merkle

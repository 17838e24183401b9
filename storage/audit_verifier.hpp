#pragma once
// Offline verification of the audit log (`cairnd audit verify`): walks every
// record of a stopped store, recomputes each record's body (expanding its
// versions from the objects databases), the hash chain and the RFC 9162
// tree, checks the stored leaves, tree nodes and indexes against the
// records, and every checkpoint's root, chain hash and Ed25519 signature
// against the key the caller trusts.
//
// The store is opened read-only while holding its directory lock, so a
// running server (or one starting meanwhile) cannot change it under the walk;
// verify a copy to check a live store. Memory stays O(log n) in the number of
// records. One thread; no other part of Cairn is involved.

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::storage {

struct audit_verdict {
  bool intact = false;
  std::uint64_t records = 0;      // records walked (all of them when intact)
  std::uint64_t checkpoints = 0;  // checkpoints checked
  // The first record found bad (0 when intact, or when the damage is not
  // within one record, as for an index entry too many).
  std::uint64_t first_bad = 0;
  std::string problem;  // one line; empty when intact
};

// Verifies the log of the store in store_path (the LMDB directory) against
// public_key_pem. An error means the store could not be examined at all (no
// such store, locked by a running server); damage is a verdict.
result<audit_verdict> verify_audit_log(const std::string& store_path,
                                       std::string_view public_key_pem);

}  // namespace cairn::storage

#pragma once
// `cairnd audit verify --data DIR [--public-key PEM]`: checks the audit log of
// a stopped server's data directory offline (storage/audit_verifier.hpp) and
// prints a one-line verdict.
//
// `cairnd audit verify --config FILE [--public-key PEM]`: the same for the
// store the config names: an LMDB config as --data with its data_dir; a
// PostgreSQL one walks the deployment's log in the database (one snapshot;
// nodes may keep running), with the key in the config's data_dir.
//
// DIR is the server's data_dir (holding store/ and audit-signing.pub), or the
// store directory itself. The checkpoints must be signed by the key in
// --public-key, by default DIR/audit-signing.pub (or the public half of
// DIR/audit-signing.key). Exit codes as INTERFACE.md: 0 intact, 1 damaged or
// not checkable (the verdict names the first bad record), 2 bad usage.

#include <iosfwd>
#include <span>
#include <string_view>

namespace cairn::server {

int run_audit_verify(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace cairn::server

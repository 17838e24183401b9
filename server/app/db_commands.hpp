#pragma once
// The operator commands of the PostgreSQL backend (INTERFACE.md, "Storage
// backends"):
//   cairnd db init --config FILE
//   cairnd migrate --from DIR --config FILE
// Each takes the arguments after its command words and returns the exit code
// of INTERFACE.md: 0 done, 2 bad usage or bad config, 1 any other failure,
// with a one-line reason on err. Neither ever prints the database password.

#include <filesystem>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"

namespace cairn::server {

// Creates the schema in an empty database and, in the config's data_dir,
// the node's key files (audit-signing.key and page-token.key with mode
// 0600, audit-signing.pub beside them), reusing the ones already there. A
// database already at this schema version: says so, exit 0. Another version
// (or another recorded signing key): exit 2 naming both. An lmdb config:
// exit 2 (LMDB needs no init).
int run_db_init(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

// Copies the LMDB store of DIR (a data_dir, or its store/ folder; stopped)
// into the config's initialised, empty database: every live version with its
// date_added, publisher and flags, the live statuses, and the audit log with
// its seq, hashes and checkpoints. The LMDB data_dir's keys must be the
// config's (copied there when it has none, refused when they differ), so
// that old checkpoints verify and issued `next` tokens keep working.
// progress_bar: draw progress on err (cairnd passes whether it is a
// terminal). One summary line on out.
int run_migrate(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                bool progress_bar);

// The node's keys in data_dir (server/api/backend.hpp's key_paths): loads
// them, creating what is missing. The public key file is rewritten when it
// does not match the signing key. Returns the public key (PEM) and the file
// names it wrote and kept.
struct node_keys {
  std::string public_pem;
  std::vector<std::string> created;
  std::vector<std::string> kept;
};
result<node_keys> ensure_node_keys(const std::filesystem::path& data_dir);

}  // namespace cairn::server

#pragma once
// The store a config names (INTERFACE.md, "Storage backends"): the embedded
// LMDB store in data_dir/store, or a PostgreSQL database that many nodes
// share. Either way the node's keys live in data_dir: the audit signing key
// (audit-signing.key, its public half audit-signing.pub) and the `next`
// token key (page-token.key).
//
// The database password comes from storage.password_file, read here when
// the store opens; it is never logged nor put in an error message.

#include <filesystem>
#include <memory>

#include "formats/error.hpp"
#include "server/config/config.hpp"
#include "server/config/log.hpp"
#include "storage/postgres_store.hpp"
#include "storage/store.hpp"

namespace cairn::server {

struct node_key_paths {
  std::filesystem::path signing_key;  // audit-signing.key (PKCS#8 PEM, 0600)
  std::filesystem::path public_key;   // audit-signing.pub (PEM)
  std::filesystem::path page_token;   // page-token.key (32 random bytes, 0600)
};
node_key_paths key_paths(const std::filesystem::path& data_dir);

// The most bytes a password file may hold.
inline constexpr std::size_t max_password_file_bytes = 4096;

// The connection settings of a postgresql storage config, with the password
// read from password_file (one line; a trailing newline is dropped).
result<storage::pg_options> pg_options_of(const storage_config& storage);

// Opens the store cfg names. For PostgreSQL, the signing key must exist in
// cfg.data_dir (cairnd db init makes it); connection events go to log.
result<std::unique_ptr<storage::store>> open_configured_store(const config& cfg, logger& log);

// The control store of the configured backend (storage/control.hpp):
// data_dir/control/ beside an LMDB store, the database's control tables for
// PostgreSQL. Usable while cairnd runs (cairnd account resume).
result<std::unique_ptr<storage::control_store>> open_configured_control(const config& cfg);

}  // namespace cairn::server

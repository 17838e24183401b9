#include "server/api/backend.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "storage/lmdb_store.hpp"

namespace cairn::server {

node_key_paths key_paths(const std::filesystem::path& data_dir) {
  return {data_dir / "audit-signing.key", data_dir / "audit-signing.pub",
          data_dir / "page-token.key"};
}

result<storage::pg_options> pg_options_of(const storage_config& storage) {
  storage::pg_options o;
  o.conninfo = storage.conninfo;
  o.pool_size = storage.pool_size;
  if (!storage.password_file) return o;
  const auto& path = *storage.password_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read the database password file " + path.string() + ": " +
                std::strerror(errno));
  }
  std::string text(max_password_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_password_file_bytes) {
    return fail("the database password file " + path.string() + " is longer than " +
                std::to_string(max_password_file_bytes) + " bytes");
  }
  // One line: what an editor or `echo` leaves at the end is not part of it.
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.empty() || text.find_first_of("\r\n") != std::string::npos) {
    return fail("the database password file " + path.string() +
                " must hold the password on one line");
  }
  o.password = std::move(text);
  return o;
}

result<std::unique_ptr<storage::store>> open_configured_store(const config& cfg, logger& log) {
  const auto keys = key_paths(cfg.data_dir);
  if (cfg.storage.backend == storage_backend::lmdb) {
    storage::lmdb_store_options options;
    options.path = (cfg.data_dir / "store").string();
    if (cfg.storage.map_size) options.map_size = *cfg.storage.map_size;
    if (cfg.storage.max_map_size) options.max_map_size = *cfg.storage.max_map_size;
    options.notice = [&log](std::string_view what) { log.info(what); };
    options.key_path = keys.signing_key.string();
    options.public_key_path = keys.public_key.string();
    return storage::open_lmdb_store(options);
  }
  auto pg = pg_options_of(cfg.storage);
  if (!pg) return std::unexpected(pg.error());
  storage::pg_store_options options;
  static_cast<storage::pg_options&>(options) = std::move(*pg);
  // Lost and regained connections: worth a line, never the password.
  options.notice = [&log](std::string_view what) { log.warn(what); };
  options.key_path = keys.signing_key.string();
  // Nodes share one log and each other's `next` tokens: a key made up here
  // would differ from the other nodes' (cairnd db init makes both once).
  for (const auto& key : {keys.signing_key, keys.page_token}) {
    std::error_code ec;
    if (!std::filesystem::exists(key, ec)) {
      return fail("no " + key.filename().string() + " in " + cfg.data_dir.string() +
                  ": run cairnd db init --config FILE once, and give every node the same "
                  "audit-signing.key and page-token.key");
    }
  }
  return storage::open_pg_store(options);
}

result<std::unique_ptr<storage::control_store>> open_configured_control(const config& cfg) {
  if (cfg.storage.backend == storage_backend::lmdb)
    return storage::open_folder_control(cfg.data_dir);
  auto pg = pg_options_of(cfg.storage);
  if (!pg) return std::unexpected(pg.error());
  return storage::open_pg_control(*pg);
}

}  // namespace cairn::server

#include "server/app/audit_verify.hpp"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "formats/ed25519.hpp"
#include "server/api/backend.hpp"
#include "server/config/config.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::server {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_usage =
    "usage: cairnd audit verify --data DIR [--public-key PEM]\n"
    "       cairnd audit verify --config FILE [--public-key PEM]\n";
constexpr std::size_t k_max_key_bytes = 16 * 1024;

std::optional<std::string> read_small(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(k_max_key_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

// The trusted public key: the file given, else the one beside the store.
result<std::string> trusted_key(const fs::path& data_dir, std::string_view given) {
  if (!given.empty()) {
    auto text = read_small(fs::path(given));
    if (!text) return fail("cannot read the public key " + std::string(given));
    if (!formats::ed25519_public_bytes(*text)) {
      return fail(std::string(given) + " is not an Ed25519 public key (PEM)");
    }
    return *text;
  }
  if (auto pub = read_small(data_dir / "audit-signing.pub")) {
    if (formats::ed25519_public_bytes(*pub)) return *pub;
  }
  if (auto priv = read_small(data_dir / "audit-signing.key")) {
    if (auto key = formats::ed25519_key::from_private_pem(*priv)) return key->public_pem();
  }
  return fail("no audit signing key in " + data_dir.string() +
              " (audit-signing.pub): give the key to trust with --public-key");
}

int report(const result<storage::audit_verdict>& verdict, std::ostream& out, std::ostream& err) {
  if (!verdict) {
    err << "cairnd audit verify: " << verdict.error().message << "\n";
    return 1;
  }
  if (verdict->intact) {
    out << "audit log intact: " << verdict->records << " records, " << verdict->checkpoints
        << " signed checkpoints verified\n";
    return 0;
  }
  out << "audit log DAMAGED";
  if (verdict->first_bad != 0) out << " at record " << verdict->first_bad;
  out << ": " << verdict->problem << "\n";
  return 1;
}

// The deployment's log in its database, against the key in data_dir.
int verify_database(const config& cfg, std::string_view key, std::ostream& out, std::ostream& err) {
  auto pem = trusted_key(cfg.data_dir, key);
  if (!pem) {
    err << "cairnd audit verify: " << pem.error().message << "\n";
    return 1;
  }
  auto pg = pg_options_of(cfg.storage);
  if (!pg) {
    err << "cairnd audit verify: " << pg.error().message << "\n";
    return 1;
  }
  return report(storage::verify_pg_audit_log(*pg, *pem), out, err);
}

}  // namespace

int run_audit_verify(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  std::string_view data;
  std::string_view config_file;
  std::string_view key;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    auto value = [&](std::string_view flag, std::string_view& into) {
      if (a == flag && i + 1 < args.size()) {
        into = args[++i];
        return true;
      }
      if (a.starts_with(flag) && a.size() > flag.size() && a[flag.size()] == '=') {
        into = a.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (value("--data", data) || value("--config", config_file) || value("--public-key", key)) {
      continue;
    }
    err << "cairnd audit verify: unknown argument '" << a << "'\n" << k_usage;
    return 2;
  }
  if (data.empty() == config_file.empty()) {  // one of them
    err << k_usage;
    return 2;
  }
  std::string from_config;
  if (!config_file.empty()) {
    auto cfg = load_config(fs::path(config_file));
    if (!cfg) {
      err << "cairnd audit verify: the config is not valid: " << cfg.error().message << "\n";
      return 2;
    }
    if (cfg->storage.backend == storage_backend::postgresql)
      return verify_database(*cfg, key, out, err);
    from_config = cfg->data_dir.string();
    data = from_config;
  }
  fs::path dir(data);
  fs::path store = dir / "store";
  std::error_code ec;
  if (!fs::exists(store / "data.mdb", ec) && fs::exists(dir / "data.mdb", ec)) {
    store = dir;  // DIR is the store itself; its keys sit in the data dir above
    dir = dir.parent_path();
  }
  auto pem = trusted_key(dir, key);
  if (!pem) {
    err << "cairnd audit verify: " << pem.error().message << "\n";
    return 1;
  }
  return report(storage::verify_audit_log(store.string(), *pem), out, err);
}

}  // namespace cairn::server

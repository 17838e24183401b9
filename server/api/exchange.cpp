#include "server/api/exchange.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/secret_file.hpp"
#include "formats/taxii.hpp"
#include "server/api/audit_limits.hpp"
#include "server/api/backend.hpp"
#include "server/api/export_etags.hpp"

namespace cairn::server {

std::optional<storage::collection_key> snapshot::key_of(std::string_view root,
                                                        std::string_view collection_id) const {
  std::string k(root);
  k += '/';
  k += collection_id;
  auto it = keys.find(k);
  if (it == keys.end()) return std::nullopt;
  return it->second;
}

namespace {

formats::collection_resource describe(const collection_config& cc, bool can_read, bool can_write) {
  formats::collection_resource r;
  r.id = cc.id;
  r.title = cc.title;
  r.description = cc.description.value_or("");
  r.alias = cc.alias.value_or("");
  r.can_read = can_read;
  r.can_write = can_write;
  return r;
}

// What discovery, api_root, collection and collections answer under cfg
// (taxii_service.cpp serves them).
resource_bodies bodies_of(const config& cfg) {
  resource_bodies out;
  formats::discovery_resource d;
  d.title = cfg.discovery.title;
  d.description = cfg.discovery.description.value_or("");
  d.contact = cfg.discovery.contact.value_or("");
  for (const auto& [name, root] : cfg.api_roots) d.api_roots.push_back("/" + name + "/");
  if (cfg.discovery.default_root) d.default_root = "/" + *cfg.discovery.default_root + "/";
  out.discovery = formats::write_discovery(d);
  for (const auto& [name, root] : cfg.api_roots) {
    formats::api_root_resource r;
    r.title = root.title;
    r.description = root.description.value_or("");
    r.max_content_length = static_cast<std::int64_t>(cfg.limits.max_content_length);
    out.api_roots.emplace(&root, formats::write_api_root(r));
    for (const auto& cc : root.collections) {
      auto& variants = out.collections[&cc];
      for (std::size_t i = 0; i < variants.size(); ++i) {
        variants[i] = formats::write_collection(describe(cc, i >= 2, i % 2 == 1));
      }
    }
  }
  return out;
}

}  // namespace

result<std::string> load_or_create_secret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    char buf[64];
    in.read(buf, sizeof buf);
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n < 32) return fail("the secret file " + path + " is shorter than 32 bytes");
    return std::string(buf, n);
  }
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return fail("no randomness for " + path);
  std::string secret(reinterpret_cast<const char*>(bytes), sizeof bytes);
  if (auto w = formats::write_secret_file(path, secret, formats::if_file_exists::fail); !w) {
    return std::unexpected(w.error());
  }
  return secret;
}

exchange::exchange(logger& log) : log_(log) {}

exchange::~exchange() {
  if (store_) {
    if (audit_limits_) audit_limits_->flush(*store_);
    if (monitor_) monitor_->stop();
    store_->close();  // commits what is queued, with a last checkpoint
  }
}

result<std::unique_ptr<exchange>> exchange::open(config cfg, logger& log) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    return fail("cannot create the data directory " + cfg.data_dir.string() + ": " + ec.message());
  }
  auto store = open_configured_store(cfg, log);
  if (!store) return std::unexpected(store.error());
  auto control = open_configured_control(cfg);
  if (!control) return std::unexpected(control.error());
  return open(std::move(cfg), log, std::move(*store), std::move(*control));
}

result<std::unique_ptr<exchange>> exchange::open(config cfg, logger& log,
                                                 std::unique_ptr<storage::store> store,
                                                 std::unique_ptr<storage::control_store> control,
                                                 monitor::options watch) {
  std::unique_ptr<exchange> ex(new exchange(log));
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    return fail("cannot create the data directory " + cfg.data_dir.string() + ": " + ec.message());
  }
  ex->store_ = std::move(store);
  ex->monitor_ =
      std::make_unique<server::monitor>(*ex->store_, std::move(control), log, std::move(watch));
  ex->audit_limits_ = std::make_unique<audit_limiter>();
  ex->export_cache_ = std::make_unique<export_etags>();
  // Each auth-failure record (one failure, or a counter standing for many)
  // reaches the detectors with its seq.
  ex->audit_limits_->watch([m = ex->monitor_.get()](std::string remote,
                                                    std::map<std::string, std::uint64_t> names,
                                                    std::uint64_t n, std::uint64_t seq) {
    m->auth_failures(std::move(remote), std::move(names), n, seq);
  });
  auto key = load_or_create_secret((cfg.data_dir / "page-token.key").string());
  if (!key) return std::unexpected(key.error());
  ex->tokens_ = std::make_unique<page_token_codec>(std::move(*key));
  if (auto r = ex->apply(std::move(cfg)); !r) return std::unexpected(r.error());
  return ex;
}

result<void> exchange::apply(config cfg) {
  auto snap = std::make_shared<snapshot>();
  for (const auto& [root, rc] : cfg.api_roots) {
    for (const auto& c : rc.collections) {
      std::string name = root + "/" + c.id;
      auto key = store_->collection(name);
      if (!key) return std::unexpected(key.error());
      snap->keys.emplace(std::move(name), *key);
    }
  }
  snap->accounts = std::make_shared<const account_table>(cfg);
  for (const auto& a : cfg.accounts) snap->fingerprints.emplace(a.name, account_fingerprint(a));
  monitor_->apply(cfg.monitoring);
  storage::audit_entry loaded;
  loaded.action = "config";
  loaded.sha256 = cfg.sha256;
  snap->cfg = std::make_shared<const config>(std::move(cfg));
  snap->bodies = bodies_of(*snap->cfg);
  {
    std::lock_guard lock(current_mutex_);
    current_ = snap;
  }
  const auto ended = sessions_->retain([&](std::string_view name) -> std::optional<std::string> {
    auto it = snap->fingerprints.find(name);
    if (it == snap->fingerprints.end()) return std::nullopt;
    return it->second;
  });
  if (ended > 0) {
    log_.info("console sessions ended: their accounts changed or were removed",
              {{"sessions", ended}});
  }
  store_->record(std::move(loaded));
  return {};
}

}  // namespace cairn::server

#include "server/app/db_commands.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <ostream>
#include <vector>

#include "formats/ed25519.hpp"
#include "formats/secret_file.hpp"
#include "server/api/backend.hpp"
#include "server/api/exchange.hpp"
#include "server/config/config.hpp"
#include "storage/lmdb_dump.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::server {

namespace {

namespace fs = std::filesystem;

constexpr int k_ok = 0;
constexpr int k_failure = 1;
constexpr int k_usage = 2;
constexpr std::size_t k_max_key_bytes = 16 * 1024;

constexpr std::string_view k_init_usage = "usage: cairnd db init --config FILE\n";
constexpr std::string_view k_migrate_usage = "usage: cairnd migrate --from DIR --config FILE\n";

// "--flag VALUE" and "--flag=VALUE" for each flag named; anything else is
// refused with the argument named.
struct flag_values {
  std::vector<std::pair<std::string_view, std::string_view>> values;
  std::optional<std::string_view> get(std::string_view flag) const {
    for (const auto& [f, v] : values) {
      if (f == flag) return v;
    }
    return std::nullopt;
  }
};

result<flag_values> parse_flags(std::span<const std::string_view> args,
                                std::initializer_list<std::string_view> flags) {
  flag_values out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    bool matched = false;
    for (const auto flag : flags) {
      std::optional<std::string_view> value;
      if (a == flag && i + 1 < args.size()) {
        value = args[++i];
      } else if (a.starts_with(flag) && a.size() > flag.size() && a[flag.size()] == '=') {
        value = a.substr(flag.size() + 1);
      }
      if (!value) continue;
      if (value->empty() || out.get(flag)) return fail(std::string(flag) + " needs one value");
      out.values.emplace_back(flag, *value);
      matched = true;
      break;
    }
    if (!matched) return fail("unexpected argument '" + std::string(a) + "'");
  }
  for (const auto flag : flags) {
    if (!out.get(flag)) return fail(std::string(flag) + " is required");
  }
  return out;
}

std::optional<std::string> read_small(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(k_max_key_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// The config of a PostgreSQL command: a bad file or an lmdb backend is
// usage (2), said on err.
std::optional<config> postgresql_config(std::string_view file, std::string_view command,
                                        std::ostream& err) {
  auto cfg = load_config(fs::path(file));
  if (!cfg) {
    err << command << ": the config is not valid: " << cfg.error().message << '\n';
    return std::nullopt;
  }
  if (cfg->storage.backend != storage_backend::postgresql) {
    err << command << ": " << file
        << " keeps its store in LMDB (storage.backend is \"lmdb\"): this command is for "
           "storage.backend \"postgresql\""
        << (command == "db init" ? " (an LMDB store is created by cairnd serve)" : "") << '\n';
    return std::nullopt;
  }
  return std::move(*cfg);
}

// A key file of the LMDB data directory must be the node's: copied when the
// node has none, refused when it has another. same() compares the contents.
result<void> adopt_key(const fs::path& from, const fs::path& to, mode_t mode,
                       const std::function<bool(const std::string&, const std::string&)>& same) {
  auto theirs = read_small(from);
  if (!theirs) return {};  // nothing to keep (a store whose server never issued one)
  if (auto ours = read_small(to)) {
    if (same(*theirs, *ours)) return {};
    return fail(to.string() + " is not " + from.string() +
                ": the migrated log's checkpoints and issued next tokens need the LMDB data "
                "directory's keys; copy them into the config's data_dir (or point data_dir at "
                "a folder without keys), then run cairnd db init in a fresh database");
  }
  if (present(to)) return fail("cannot read " + to.string());
  return formats::write_secret_file(to, *theirs, formats::if_file_exists::fail, mode);
}

std::optional<std::string> public_bytes_of_private(const std::string& pem) {
  auto key = formats::ed25519_key::from_private_pem(pem);
  if (!key) return std::nullopt;
  return formats::ed25519_public_bytes(key->public_pem());
}

// The sink between the dump and the database, counting what goes through.
class counting_sink final : public storage::store_sink {
 public:
  explicit counting_sink(storage::store_sink& to) : to_(to) {}
  std::uint64_t collections = 0, versions = 0, statuses = 0, records = 0, checkpoints = 0;

  result<void> collection(std::string_view name, storage::collection_key key) override {
    ++collections;
    return to_.collection(name, key);
  }
  result<void> version(const storage::object_record& v) override {
    ++versions;
    return to_.version(v);
  }
  result<void> status(const storage::status_record& s, storage::micros stored_at) override {
    ++statuses;
    return to_.status(s, stored_at);
  }
  result<void> audit_record(std::string_view json) override {
    ++records;
    return to_.audit_record(json);
  }
  result<void> checkpoint(const formats::audit_checkpoint& c) override {
    ++checkpoints;
    return to_.checkpoint(c);
  }

 private:
  storage::store_sink& to_;
};

// One line redrawn in place: "[####------]  42%  versions 4200/10000  records 17/40".
class progress_bar {
 public:
  progress_bar(std::ostream& err, bool on) : err_(err), on_(on) {}
  void draw(const storage::dump_progress& p, bool last) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    drawn_ = true;
    const std::uint64_t total = p.versions_total + p.records_total;
    const std::uint64_t done = std::min(p.versions + p.records, total);
    const unsigned percent = total == 0 ? 100 : static_cast<unsigned>(done * 100 / total);
    constexpr unsigned width = 30;
    const unsigned filled = percent * width / 100;
    err_ << "\rmigrating [" << std::string(filled, '#') << std::string(width - filled, '-') << "] "
         << (percent < 10    ? "  "
             : percent < 100 ? " "
                             : "")
         << percent << "%  versions " << p.versions << '/' << p.versions_total << "  audit records "
         << p.records << '/' << p.records_total << std::flush;
  }
  void end() {
    if (on_ && drawn_) err_ << '\n';
  }

 private:
  std::ostream& err_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace

result<node_keys> ensure_node_keys(const fs::path& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) {
    return fail("cannot create the data directory " + data_dir.string() + ": " + ec.message());
  }
  const auto paths = key_paths(data_dir);
  node_keys out;
  auto note = [&](const fs::path& p, bool created) {
    (created ? out.created : out.kept).push_back(p.filename().string());
  };
  std::optional<formats::ed25519_key> key;
  if (present(paths.signing_key)) {
    note(paths.signing_key, false);
    auto text = read_small(paths.signing_key);
    if (!text) return fail("cannot read " + paths.signing_key.string());
    auto loaded = formats::ed25519_key::from_private_pem(*text);
    if (!loaded) return fail(paths.signing_key.string() + ": " + loaded.error().message);
    key.emplace(std::move(*loaded));
  } else {
    auto made = formats::ed25519_key::generate();
    if (!made) return std::unexpected(made.error());
    if (auto w = formats::write_secret_file(paths.signing_key, made->private_pem(),
                                            formats::if_file_exists::fail);
        !w) {
      return std::unexpected(w.error());
    }
    key.emplace(std::move(*made));
    note(paths.signing_key, true);
  }
  out.public_pem = key->public_pem();
  if (out.public_pem.empty()) return fail("cannot derive the audit public key");
  // Auditors take the public half from here: it must be this key's.
  const auto current = read_small(paths.public_key);
  if (!current ||
      formats::ed25519_public_bytes(*current) != formats::ed25519_public_bytes(out.public_pem)) {
    if (auto w = formats::write_secret_file(paths.public_key, out.public_pem,
                                            formats::if_file_exists::replace, 0644);
        !w) {
      return std::unexpected(w.error());
    }
    note(paths.public_key, true);
  } else {
    note(paths.public_key, false);
  }
  note(paths.page_token, !present(paths.page_token));
  if (auto token = load_or_create_secret(paths.page_token.string()); !token) {
    return std::unexpected(token.error());
  }
  return out;
}

int run_db_init(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  auto flags = parse_flags(args, {"--config"});
  if (!flags) {
    err << "db init: " << flags.error().message << '\n' << k_init_usage;
    return k_usage;
  }
  auto cfg = postgresql_config(*flags->get("--config"), "db init", err);
  if (!cfg) return k_usage;
  auto pg = pg_options_of(cfg->storage);
  if (!pg) {
    err << "db init: " << pg.error().message << '\n';
    return k_failure;
  }
  auto keys = ensure_node_keys(cfg->data_dir);
  if (!keys) {
    err << "db init: " << keys.error().message << '\n';
    return k_failure;
  }
  auto list = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
    return text;
  };
  if (!keys->created.empty()) {
    out << "created " << list(keys->created) << " in " << cfg->data_dir.string() << '\n';
  }
  if (!keys->kept.empty()) {
    out << "kept " << list(keys->kept) << " in " << cfg->data_dir.string() << '\n';
  }
  out << "every node of this deployment needs the same audit-signing.key and page-token.key "
         "(copy them, mode 0600)\n";
  auto outcome = storage::pg_init_schema(*pg, keys->public_pem);
  if (!outcome) {
    err << "db init: " << outcome.error().message << '\n';
    // Another schema version or another deployment's key: the config
    // names the wrong database or data_dir.
    return outcome.error().code == errc::invalid_input ? k_usage : k_failure;
  }
  if (*outcome == storage::pg_init_outcome::created) {
    out << "created the schema (version " << storage::pg_schema_version << ") in the database\n";
  } else if (*outcome == storage::pg_init_outcome::upgraded) {
    out << "upgraded the schema to version " << storage::pg_schema_version << '\n';
  } else {
    out << "the database is already at schema version " << storage::pg_schema_version
        << "; nothing changed\n";
  }
  return k_ok;
}

int run_migrate(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                bool show_progress) {
  auto flags = parse_flags(args, {"--from", "--config"});
  if (!flags) {
    err << "migrate: " << flags.error().message << '\n' << k_migrate_usage;
    return k_usage;
  }
  auto cfg = postgresql_config(*flags->get("--config"), "migrate", err);
  if (!cfg) return k_usage;

  // DIR is a data_dir (keys beside store/) or the store folder itself.
  fs::path from_dir(*flags->get("--from"));
  fs::path store = from_dir / "store";
  if (!present(store / "data.mdb") && present(from_dir / "data.mdb")) {
    store = from_dir;
    from_dir = from_dir.parent_path();
  }
  if (!present(store / "data.mdb")) {
    err << "migrate: no LMDB store in " << from_dir.string()
        << " (give the data_dir of an LMDB node, or its store/ folder)\n";
    return k_usage;
  }
  const auto theirs = key_paths(from_dir);
  const auto ours = key_paths(cfg->data_dir);
  auto their_key = read_small(theirs.signing_key);
  auto their_public = their_key ? public_bytes_of_private(*their_key) : std::nullopt;
  if (!their_public) {
    err << "migrate: no usable audit signing key in " << theirs.signing_key.string()
        << ": the log's checkpoints could not be verified after the move\n";
    return k_failure;
  }

  auto pg = pg_options_of(cfg->storage);
  if (!pg) {
    err << "migrate: " << pg.error().message << '\n';
    return k_failure;
  }
  auto importer = storage::open_pg_importer(*pg);
  if (!importer) {
    err << "migrate: " << importer.error().message << '\n';
    return k_failure;
  }
  // The database must carry the LMDB log's key, as every node will.
  auto recorded = storage::pg_init_schema(*pg, formats::ed25519_public_pem_of(*their_public));
  if (!recorded) {
    // The importer checked the schema version: what is left is the key.
    if (recorded.error().code == errc::invalid_input) {
      err << "migrate: the database records another audit signing key than "
          << theirs.signing_key.string()
          << ": copy the LMDB data directory's audit-signing.key and page-token.key into the "
             "config's data_dir before cairnd db init, and initialise a fresh database\n";
    } else {
      err << "migrate: " << recorded.error().message << '\n';
    }
    return k_failure;
  }
  auto same_key = [](const std::string& a, const std::string& b) {
    auto x = public_bytes_of_private(a);
    return x && x == public_bytes_of_private(b);
  };
  auto same_bytes = [](const std::string& a, const std::string& b) { return a == b; };
  std::error_code ec;
  fs::create_directories(cfg->data_dir, ec);
  auto adopted = adopt_key(theirs.signing_key, ours.signing_key, 0600, same_key);
  if (adopted) adopted = adopt_key(theirs.page_token, ours.page_token, 0600, same_bytes);
  if (!adopted) {
    err << "migrate: " << adopted.error().message << '\n';
    return k_failure;
  }
  if (auto keys = ensure_node_keys(cfg->data_dir); !keys) {
    err << "migrate: " << keys.error().message << '\n';
    return k_failure;
  }

  counting_sink sink(**importer);
  progress_bar bar(err, show_progress);
  auto dumped = storage::dump_lmdb_store(
      store.string(), sink, [&](const storage::dump_progress& p) { bar.draw(p, false); });
  if (dumped) bar.draw(*dumped, true);
  bar.end();
  if (!dumped) {
    err << "migrate: " << dumped.error().message << "; nothing was stored\n";
    return k_failure;
  }
  if (auto done = (*importer)->finish(); !done) {
    err << "migrate: " << done.error().message << "; nothing was stored\n";
    return k_failure;
  }
  out << "migrated " << store.string() << ": " << sink.collections << " collections, "
      << sink.versions << " object versions, " << sink.statuses << " statuses, " << sink.records
      << " audit records, " << sink.checkpoints << " checkpoints\n";
  return k_ok;
}

}  // namespace cairn::server

#include "server/app/demo.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <ostream>
#include <sstream>

#include "formats/json.hpp"
#include "formats/secret_file.hpp"
#include "formats/stix.hpp"
#include "server/api/exchange.hpp"
#include "server/api/publishing.hpp"
#include "server/app/daemon.hpp"
#include "server/config/config.hpp"
#include "server/config/credentials.hpp"
#include "server/transport/tls.hpp"

namespace cairn::server {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_intel_collection = "1c7a6f0e-5b0f-4c5e-9d7a-3f2b8e4a9c01";
constexpr std::string_view k_reference_collection = "7d3e2b9a-8f41-4e6b-a2c5-0b9d4f1e6a72";

std::string random_password() {
  static constexpr char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char bytes[20];
  RAND_bytes(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out += alphabet[b % (sizeof alphabet - 1)];
  return out;
}

struct demo_account {
  std::string name;
  std::string role;
  std::string password;
};

std::string make_config(const fs::path& dir, unsigned short port,
                        const std::vector<demo_account>& accounts,
                        const std::vector<std::string>& hashes) {
  formats::json_writer w;
  w.begin_object();
  w.member("listen", "127.0.0.1:" + std::to_string(port));
  w.member("data_dir", "data");
  w.key("tls").begin_object().member("cert", "server.pem").member("key", "server.key").end_object();
  w.key("limits").begin_object();
  w.member("max_content_length", std::int64_t{10485760}).member("page_size", std::int64_t{1000});
  w.end_object();
  w.key("discovery").begin_object();
  w.member("title", "Cairn demo exchange");
  w.member("description", "A local threat-intelligence exchange with sample STIX 2.1 data");
  w.member("contact", "soc@example.org").member("default", "sharing");
  w.end_object();
  w.key("api_roots").begin_object().key("sharing").begin_object();
  w.member("title", "Sharing group");
  w.member("description", "Indicators of state-affiliated actors misusing online and AI services");
  w.key("collections").begin_array();
  w.begin_object()
      .member("id", k_intel_collection)
      .member("title", "Threat intelligence")
      .member("alias", "intel")
      .member("description", "Actors, infrastructure and indicators from the sharing group")
      .member("default_tlp", "amber")
      .end_object();
  w.begin_object()
      .member("id", k_reference_collection)
      .member("title", "Reference examples")
      .member("alias", "reference")
      .member("description", "Public STIX 2.1 examples from the OASIS CTI projects")
      .member("default_tlp", "clear")
      .end_object();
  w.end_array().end_object().end_object();
  w.key("accounts").begin_array();
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto& a = accounts[i];
    w.begin_object().member("name", a.name).member("password_hash", hashes[i]);
    if (a.role == "publisher") {
      w.key("read").begin_array().string("*").end_array();
      w.key("write").begin_array().string("*").end_array();
      w.member("clearance", "red");
    } else if (a.role == "partner") {
      w.key("read").begin_array().string("intel").string("reference").end_array();
      w.key("write").begin_array().end_array();
      w.member("clearance", "green");
    } else {
      w.key("read").begin_array().string("*").end_array();
      w.key("write").begin_array().end_array();
      w.member("clearance", "red").member("auditor", true);
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  // Indented a little for people who open the file.
  std::string text = w.take();
  (void)dir;
  return text + "\n";
}

// Parses and stores the objects of one file into a collection, directly
// through the store (the server is not up yet).
std::size_t load_content(exchange& ex, storage::collection_key key, std::string_view text,
                         std::string_view publisher, formats::tlp_level default_tlp,
                         std::ostream& err, const std::string& name) {
  auto parsed = formats::parse_stix_content(text, {}, 100000);
  if (!parsed) {
    err << "demo: skipping " << name << ": " << parsed.error().to_string() << "\n";
    return 0;
  }
  // Invalid objects are left out of the sample data.
  std::erase_if(*parsed, [](const formats::parsed_object& p) { return !p.info; });
  if (parsed->empty()) return 0;
  // The sample data enters the store and the sharing record like any publish.
  const auto owner = ex.current()->accounts->find(publisher);
  if (!owner) {
    err << "demo: skipping " << name << ": the config has no account " << publisher << "\n";
    return 0;
  }
  const publication where{owner.get(), key, "sharing", default_tlp};
  storage::audit_entry recorded;
  recorded.action = "publish";
  recorded.account = std::string(publisher);
  recorded.api_root = "sharing";
  recorded.status = 202;
  for (const auto& [root_and_id, k] : ex.current()->keys) {
    if (k == key) recorded.collection = root_and_id.substr(root_and_id.find('/') + 1);
  }
  std::promise<result<storage::publish_outcome>> done;
  auto fut = done.get_future();
  publish(ex.store(), where, std::move(*parsed), std::move(recorded),
          [&done](result<storage::publish_outcome> r) { done.set_value(std::move(r)); });
  auto r = fut.get();
  if (!r) {
    err << "demo: storing " << name << " failed: " << r.error().message << "\n";
    return 0;
  }
  return r->added;
}

// The .json files of a folder the user named, in name order.
std::vector<fs::path> corpus_files(const fs::path& dir, std::ostream& err) {
  std::vector<fs::path> paths;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") paths.push_back(it->path());
  }
  if (ec) err << "demo: cannot read " << dir.string() << ": " << ec.message() << "\n";
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

int run_demo(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
             logger& log) {
  fs::path dir = "cairn-demo";
  unsigned short port = 8443;
  std::string corpus_arg;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto a = args[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a == flag && i + 1 < args.size()) return std::string(args[++i]);
      if (a.starts_with(std::string(flag) + "=")) return std::string(a.substr(flag.size() + 1));
      return std::nullopt;
    };
    if (auto v = value("--dir")) {
      dir = *v;
    } else if (auto p = value("--port")) {
      int n = 0;
      try {
        n = std::stoi(*p);
      } catch (...) {
        n = -1;
      }
      if (n < 0 || n > 65535) {
        err << "cairnd demo: --port takes a number from 0 to 65535\n";
        return 2;
      }
      port = static_cast<unsigned short>(n);
    } else if (auto c = value("--corpus")) {
      corpus_arg = *c;
    } else {
      err << "usage: cairnd demo [--dir DIR] [--port N] [--corpus DIR]\n";
      return 2;
    }
  }

  std::error_code ec;
  const bool made_dir = fs::create_directories(dir, ec);
  if (ec) {
    err << "cairnd demo: cannot create " << dir.string() << ": " << ec.message() << "\n";
    return 1;
  }
  // The folder holds the config (password hashes), the TLS key and the data:
  // the owner's only.
  if (made_dir) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  const fs::path config_path = dir / "cairn.json";
  const bool fresh = !fs::exists(config_path);
  if (!fresh) {
    // A folder made by an earlier release may leave the config (password
    // hashes) and the folder readable by others: make them the owner's only.
    for (const auto& p : {dir, config_path, dir / "server.key"}) {
      std::error_code ignored;
      fs::permissions(p, fs::perms::group_all | fs::perms::others_all, fs::perm_options::remove,
                      ignored);
    }
  }
  std::vector<demo_account> accounts;
  if (fresh) {
    if (auto r = make_self_signed(dir / "server.pem", dir / "server.key"); !r) {
      err << "cairnd demo: " << r.error().message << "\n";
      return 1;
    }
    accounts = {{"publisher", "publisher", random_password()},
                {"partner", "partner", random_password()},
                {"auditor", "auditor", random_password()}};
    std::vector<std::string> hashes;
    for (const auto& a : accounts) {
      auto h = hash_secret(a.password);
      if (!h) {
        err << "cairnd demo: " << h.error().message << "\n";
        return 1;
      }
      hashes.push_back(std::move(*h));
    }
    // The config holds the password hashes.
    if (auto w = formats::write_secret_file(config_path, make_config(dir, port, accounts, hashes),
                                            formats::if_file_exists::replace);
        !w) {
      err << "cairnd demo: " << w.error().message << "\n";
      return 1;
    }
  }

  auto cfg = load_config(config_path);
  if (!cfg) {
    err << "cairnd demo: " << config_path.string() << ": " << cfg.error().message << "\n";
    return 2;
  }
  port = cfg->listen.port;

  // Load the sample data once, before serving.
  const fs::path marker = dir / "data" / "demo-loaded";
  if (!fs::exists(marker)) {
    auto ex = exchange::open(*cfg, log);
    if (!ex) {
      err << "cairnd demo: " << ex.error().message << "\n";
      return 1;
    }
    auto snap = (*ex)->current();
    const auto intel = *snap->key_of("sharing", k_intel_collection);
    const auto reference = *snap->key_of("sharing", k_reference_collection);
    std::size_t n_intel = load_content(**ex, intel, demo_scenario_json(), "publisher",
                                       formats::tlp_level::amber, err, "scenario");
    // The reference examples are built in; --corpus adds a folder's files.
    std::size_t n_ref = load_content(**ex, reference, demo_reference_json(), "publisher",
                                     formats::tlp_level::clear, err, "reference examples");
    std::size_t files = 0;
    if (!corpus_arg.empty()) {
      for (const auto& p : corpus_files(corpus_arg, err)) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        n_ref += load_content(**ex, reference, ss.str(), "publisher", formats::tlp_level::clear,
                              err, p.filename().string());
        ++files;
      }
    }
    ex->reset();
    std::ofstream(marker) << "loaded\n";
    out << "Loaded " << n_intel << " scenario objects into 'intel' and " << n_ref
        << " reference objects";
    if (!corpus_arg.empty()) out << " (" << files << " files from " << corpus_arg << ")";
    out << " into 'reference'.\n";
  }

  // The banner goes out once the listener is up, with the port it really got.
  auto banner = [&, fresh, accounts, dir](unsigned short actual_port) {
    const std::string base = "https://127.0.0.1:" + std::to_string(actual_port);
    const std::string cacert = (dir / "server.pem").string();
    std::error_code ec;
    auto cli =
        fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "clients" / "cairn";
    const std::string cairn =
        !ec && fs::exists(cli) ? fs::relative(cli, fs::current_path(), ec).string() : "cairn";
    out << "\nCairn demo exchange in " << dir.string() << "\n";
    if (fresh) {
      out << "Accounts (passwords are shown only this once):\n";
      for (const auto& a : accounts) {
        out << "  " << a.role << ": user " << a.name << "  password " << a.password << "\n";
      }
    } else {
      out << "Accounts: publisher, partner, auditor (passwords were shown when " << dir.string()
          << " was created; delete the folder to start over)\n";
    }
    const std::string pw = fresh ? accounts[1].password : "PASSWORD";
    out << "\nDiscovery: " << base << "/taxii2/\n"
        << "Console:   " << base
        << "/cairn/console/ (sign in with an account above; the certificate is " << cacert
        << ")\n\n"
        << "Try:\n"
        << "  curl --cacert " << cacert << " -u partner:" << pw
        << " -H 'Accept: application/taxii+json;version=2.1' " << base << "/taxii2/\n"
        << "  curl --cacert " << cacert << " -u partner:" << pw
        << " -H 'Accept: application/taxii+json;version=2.1' '" << base
        << "/sharing/collections/intel/objects/?limit=5'\n"
        << "  CAIRN_PASSWORD=" << pw << " " << cairn << " --url " << base << "/taxii2/ --cacert "
        << cacert << " --user partner pull intel --out intel.json\n"
        << "  CAIRN_PASSWORD=<publisher password> " << cairn << " --url " << base
        << "/taxii2/ --cacert " << cacert << " --user publisher publish intel my-bundle.json\n\n"
        << "Serving until Ctrl-C.\n";
    out.flush();
  };
  serve_hooks hooks;
  hooks.on_listening = banner;
  return serve(config_path, log, hooks);
}

}  // namespace cairn::server

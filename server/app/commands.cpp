#include "server/app/commands.hpp"

#include <istream>
#include <ostream>
#include <string>

#include "server/config/config.hpp"
#include "server/config/credentials.hpp"
#include "server/transport/tls.hpp"

namespace cairn::server {

namespace {

constexpr int k_ok = 0;
constexpr int k_failure = 1;
constexpr int k_usage = 2;
constexpr std::size_t k_max_secret_bytes = 4096;

}  // namespace

int run_check_config(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  std::optional<std::string_view> file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    if (a == "--config" && i + 1 < args.size()) {
      file = args[++i];
    } else if (a.starts_with("--config=")) {
      file = a.substr(9);
    } else {
      err << "check-config: unexpected argument \"" << a
          << "\" (usage: cairnd check-config --config FILE)\n";
      return k_usage;
    }
  }
  if (!file || file->empty()) {
    err << "check-config: usage: cairnd check-config --config FILE\n";
    return k_usage;
  }
  const std::filesystem::path path(*file);
  auto problems = check_config_file(path);
  if (problems.empty()) {
    // The file is sound; see whether the TLS material it names loads.
    auto cfg = load_config(path);
    if (!cfg) {
      problems.push_back(config_problem{cfg.error().where, cfg.error().message});
    } else if (auto ctx = make_server_context(cfg->tls); !ctx) {
      problems.push_back(config_problem{"/tls", ctx.error().message});
    }
  }
  if (problems.empty()) {
    out << "ok\n";
    return k_ok;
  }
  for (const auto& p : problems) out << p.to_string() << '\n';
  err << "check-config: " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
      << " in " << path.string() << '\n';
  return k_usage;
}

int run_hash_secret(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                    std::ostream& err) {
  if (!args.empty()) {
    err << "hash-secret: takes no arguments; the secret is read from standard input\n";
    return k_usage;
  }
  std::string secret;
  char c = 0;
  while (in.get(c) && c != '\n') {
    if (secret.size() >= k_max_secret_bytes) {
      err << "hash-secret: the secret is longer than " << k_max_secret_bytes << " bytes\n";
      return k_usage;
    }
    secret += c;
  }
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    err << "hash-secret: empty secret refused\n";
    return k_usage;
  }
  auto phc = hash_secret(secret);
  std::fill(secret.begin(), secret.end(), '\0');
  if (!phc) {
    err << "hash-secret: " << phc.error().message << '\n';
    return k_failure;
  }
  out << *phc << '\n';
  return k_ok;
}

int run_token_issue(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (!args.empty()) {
    err << "token issue: takes no arguments\n";
    return k_usage;
  }
  auto t = issue_token();
  if (!t) {
    err << "token issue: " << t.error().message << '\n';
    return k_failure;
  }
  out << "token: " << t->token << '\n'
      << "token_hashes entry: " << t->hash << '\n'
      << "(the token is shown only now; give it to the client and put the hash in the account's "
         "\"token_hashes\")\n";
  return k_ok;
}

}  // namespace cairn::server

// cairnd: the exchange server and its local operator commands.
#include <unistd.h>

#include <iostream>
#include <string_view>
#include <vector>

#include "server/app/account_commands.hpp"
#include "server/app/audit_verify.hpp"
#include "server/app/backup_command.hpp"
#include "server/app/commands.hpp"
#include "server/app/daemon.hpp"
#include "server/app/db_commands.hpp"
#include "server/app/demo.hpp"
#include "server/config/log.hpp"

namespace {

constexpr std::string_view k_usage =
    "usage:\n"
    "  cairnd serve --config FILE\n"
    "  cairnd demo [--dir DIR] [--port N]\n"
    "  cairnd check-config --config FILE\n"
    "  cairnd hash-secret              (reads the secret from stdin)\n"
    "  cairnd token issue\n"
    "  cairnd audit verify --data DIR [--public-key PEM]\n"
    "  cairnd audit verify --config FILE [--public-key PEM]\n"
    "  cairnd db init --config FILE    (PostgreSQL: schema and the node's key files)\n"
    "  cairnd migrate --from DIR --config FILE   (an LMDB data_dir into PostgreSQL)\n"
    "  cairnd account resume NAME --config FILE  (lift a suspension; works while cairnd runs)\n"
    "  cairnd account suspensions --config FILE\n"
    "  cairnd backup --data DIR --to DEST        (a consistent copy of a live LMDB data_dir)\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << k_usage;
    return args.empty() ? 2 : 0;
  }
  const auto cmd = args[0];
  std::span<const std::string_view> rest(args.data() + 1, args.size() - 1);
  cairn::server::logger log(std::cerr);
  if (cmd == "serve") {
    std::string_view config;
    if (rest.size() == 2 && rest[0] == "--config") config = rest[1];
    if (rest.size() == 1 && rest[0].starts_with("--config=")) config = rest[0].substr(9);
    if (config.empty()) {
      std::cerr << "usage: cairnd serve --config FILE\n";
      return 2;
    }
    return cairn::server::serve(std::string(config), log);
  }
  if (cmd == "demo") return cairn::server::run_demo(rest, std::cout, std::cerr, log);
  if (cmd == "check-config") return cairn::server::run_check_config(rest, std::cout, std::cerr);
  if (cmd == "hash-secret") {
    return cairn::server::run_hash_secret(rest, std::cin, std::cout, std::cerr);
  }
  if (cmd == "token" && !rest.empty() && rest[0] == "issue") {
    return cairn::server::run_token_issue(rest.subspan(1), std::cout, std::cerr);
  }
  if (cmd == "audit" && !rest.empty() && rest[0] == "verify") {
    return cairn::server::run_audit_verify(rest.subspan(1), std::cout, std::cerr);
  }
  if (cmd == "db" && !rest.empty() && rest[0] == "init") {
    return cairn::server::run_db_init(rest.subspan(1), std::cout, std::cerr);
  }
  if (cmd == "account" && !rest.empty() && rest[0] == "resume") {
    return cairn::server::run_account_resume(rest.subspan(1), std::cout, std::cerr);
  }
  if (cmd == "account" && !rest.empty() && rest[0] == "suspensions") {
    return cairn::server::run_account_suspensions(rest.subspan(1), std::cout, std::cerr);
  }
  if (cmd == "backup") return cairn::server::run_backup(rest, std::cout, std::cerr);
  if (cmd == "migrate") {
    return cairn::server::run_migrate(rest, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1);
  }
  std::cerr << "cairnd: unknown command '" << cmd << "'\n" << k_usage;
  return 2;
}

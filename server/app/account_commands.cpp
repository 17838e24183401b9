#include "server/app/account_commands.hpp"

#include <ostream>
#include <string>

#include "formats/time.hpp"
#include "server/api/backend.hpp"
#include "server/config/config.hpp"

namespace cairn::server {

namespace {

constexpr std::string_view k_resume_usage = "usage: cairnd account resume NAME --config FILE\n";
constexpr std::string_view k_list_usage = "usage: cairnd account suspensions --config FILE\n";

// "--config FILE" or "--config=FILE" among args; the others into rest.
bool config_flag(std::span<const std::string_view> args, std::string_view& config,
                 std::vector<std::string_view>& rest) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size() && config.empty()) {
      config = args[++i];
    } else if (args[i].starts_with("--config=") && config.empty()) {
      config = args[i].substr(9);
    } else if (args[i].starts_with("-")) {
      return false;
    } else {
      rest.push_back(args[i]);
    }
  }
  return !config.empty();
}

}  // namespace

int run_account_resume(std::span<const std::string_view> args, std::ostream& out,
                       std::ostream& err) {
  std::string_view path;
  std::vector<std::string_view> names;
  if (!config_flag(args, path, names) || names.size() != 1) {
    err << k_resume_usage;
    return 2;
  }
  const std::string name(names[0]);
  auto cfg = load_config(std::string(path));
  if (!cfg) {
    err << "cairnd account resume: " << cfg.error().message << "\n";
    return 2;
  }
  auto control = open_configured_control(*cfg);
  if (!control) {
    err << "cairnd account resume: " << control.error().message << "\n";
    return 1;
  }
  auto lifted = (*control)->resume(name);
  if (!lifted) {
    err << "cairnd account resume: " << lifted.error().message << "\n";
    return 1;
  }
  bool by_config = false;
  for (const auto& a : cfg->accounts) {
    if (a.name == name && a.suspended) by_config = true;
  }
  if (*lifted) {
    out << "account " << name << " resumed\n";
  } else {
    out << "account " << name << " was not suspended by an alert\n";
  }
  if (by_config) {
    err << "cairnd account resume: account " << name
        << " is still suspended by the config file (\"suspended\": true); remove that key and "
           "reload (SIGHUP)\n";
    return 1;
  }
  return 0;
}

int run_account_suspensions(std::span<const std::string_view> args, std::ostream& out,
                            std::ostream& err) {
  std::string_view path;
  std::vector<std::string_view> rest;
  if (!config_flag(args, path, rest) || !rest.empty()) {
    err << k_list_usage;
    return 2;
  }
  auto cfg = load_config(std::string(path));
  if (!cfg) {
    err << "cairnd account suspensions: " << cfg.error().message << "\n";
    return 2;
  }
  auto control = open_configured_control(*cfg);
  if (!control) {
    err << "cairnd account suspensions: " << control.error().message << "\n";
    return 1;
  }
  auto list = (*control)->suspensions();
  if (!list) {
    err << "cairnd account suspensions: " << list.error().message << "\n";
    return 1;
  }
  for (const auto& s : *list) {
    out << s.account << "  " << (s.kind.empty() ? "-" : s.kind) << "  alert " << s.alert_seq
        << "  since " << formats::format_taxii_time(s.since) << "\n";
  }
  for (const auto& a : cfg->accounts) {
    if (a.suspended) out << a.name << "  config  (\"suspended\": true)\n";
  }
  return 0;
}

}  // namespace cairn::server

#pragma once
// `cairnd serve`: runs the exchange in the foreground until SIGINT/SIGTERM.
//
// SIGTERM/SIGINT: stop accepting, let in-flight requests finish (at most
// limits.shutdown_timeout_s), commit what is queued, exit 0. SIGHUP: re-read
// the config file; a bad file is refused with a logged error and the old
// config stays; a good one applies to the next request on every connection.

#include <filesystem>
#include <functional>

#include "server/config/config.hpp"
#include "server/config/log.hpp"

namespace cairn::server {

struct serve_hooks {
  // Called once the listener is up, with its port (for the demo's banner).
  std::function<void(unsigned short port)> on_listening;
};

// Returns the process exit code.
int serve(const std::filesystem::path& config_path, logger& log, const serve_hooks& hooks = {});

}  // namespace cairn::server

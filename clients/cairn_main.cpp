// `cairn`: wires the process (signals, stdio, environment) to run_cli().
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/cli.hpp"

namespace {

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
  interrupted.store(true);
}

}  // namespace

int main(int argc, char** argv) {
  // The first Ctrl-C asks the running command to stop at a safe point (a
  // pull records what it has); a second one ends the process at once.
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  cairn::clients::cli_io io;
  io.progress = ::isatty(2) == 1;
  io.out_is_tty = ::isatty(1) == 1;
  io.stop = &interrupted;
  io.env = [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  return cairn::clients::run_cli(args, io);
}

#pragma once
// The `cairn` commands, run from parsed arguments. cairn_main.cpp only wires
// the process (signals, stdio) to run_cli(); tests call run_cli() with their
// own files and environment.
//
// Output: results on io.out, messages and progress on io.err (progress only
// when io.progress). Exit codes: 0 success, 1 failure, 2 bad usage.

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "clients/cli_args.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

struct cli_io {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool progress = false;                    // draw progress on err (a terminal, not --quiet)
  bool out_is_tty = false;                  // pretty-print JSON for a person
  const std::atomic<bool>* stop = nullptr;  // set on Ctrl-C
  env_lookup env;
  // Reads all of standard input ("-" in publish).
  std::function<result<std::string>()> read_stdin;
};

int run_cli(const std::vector<std::string>& args, cli_io& io);

// Indented JSON for people (two spaces a level).
std::string pretty_json(std::string_view json);

}  // namespace cairn::clients

#pragma once
// `cairnd demo [--dir DIR] [--port N] [--corpus DIR]`: the zero-set-up main
// job. Creates DIR (default ./cairn-demo) with a self-signed certificate, a
// config (one API root, two collections, one account per role, passwords
// printed once), loads the sample STIX data, prints how to talk to it, then
// serves on 127.0.0.1. Run again, it reuses DIR and its data.

#include <iosfwd>
#include <span>
#include <string_view>

#include "server/log.hpp"

namespace cairn::server {

int run_demo(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
             logger& log);

// The demo's scenario bundle (server/demo_data/scenario.json), built in.
std::string_view demo_scenario_json();

}  // namespace cairn::server

#pragma once
// `cairnd demo [--dir DIR] [--port N] [--corpus DIR]`: the zero-set-up main
// job. Creates DIR (default ./cairn-demo) with a self-signed certificate, a
// config (one API root, two collections, one account per role, passwords
// printed once), loads the built-in sample STIX data (plus the .json files of
// --corpus DIR into `reference`, when given), prints how to talk to it, then
// serves on 127.0.0.1. Run again, it reuses DIR and its data.

#include <iosfwd>
#include <span>
#include <string_view>

#include "server/config/log.hpp"

namespace cairn::server {

int run_demo(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
             logger& log);

// The demo's scenario bundle (server/demo_data/scenario.json), built in.
std::string_view demo_scenario_json();

// The demo's `reference` collection (server/demo_data/reference.json): public
// STIX 2.1 examples, built in so that a fresh clone's demo has them.
std::string_view demo_reference_json();

}  // namespace cairn::server

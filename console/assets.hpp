#pragma once
// The console's web files (console/web/), compiled in at build time by
// console/embed_assets.cmake. index.html is the asset named "index.html",
// with every "%ASSETS%" already replaced by /cairn/console/assets/<bundle>;
// every other file is served under that prefix.

#include <span>
#include <string_view>

namespace cairn::console {

struct console_asset {
  std::string_view name;          // the file name ("app.js")
  std::string_view content_type;  // by extension
  std::string_view body;
  std::string_view etag;  // strong: "\"<hex SHA-256 of body>\"", quotes included
};

// Every asset, sorted by name.
std::span<const console_asset> console_assets();
// The first 16 hex digits of SHA-256 over every asset's name and bytes (as
// in console/web/): changes whenever any file changes.
std::string_view console_bundle();
// nullptr when there is no such file.
const console_asset* find_console_asset(std::string_view name);

}  // namespace cairn::console

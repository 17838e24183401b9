#pragma once
// The operator's answer to a suspension (INTERFACE.md, "Monitoring the
// exchange itself"), through the control store of the configured backend,
// so that they work while cairnd runs (it notices within about a second):
//   cairnd account resume NAME --config FILE
//   cairnd account suspensions --config FILE
// Exit codes as INTERFACE.md: 0 done, 2 bad usage or config, 1 any other
// failure (one line on err).

#include <iosfwd>
#include <span>
#include <string_view>

namespace cairn::server {

// Lifts NAME's durable suspension. An account that was not suspended is
// said so (exit 0); one suspended by the config file's `suspended: true`
// stays so until that key goes (said so, exit 1).
int run_account_resume(std::span<const std::string_view> args, std::ostream& out,
                       std::ostream& err);

// One line per durable suspension: account, kind, alert seq, since.
int run_account_suspensions(std::span<const std::string_view> args, std::ostream& out,
                            std::ostream& err);

}  // namespace cairn::server

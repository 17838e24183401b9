#pragma once
// `cairn pull`: page through GET objects to the end (following `next`, or
// `added_after` = X-TAXII-Date-Added-Last when a server gives no `next`) and
// write the objects as a STIX bundle or JSON lines.
//
// Durability and resumption (--state FILE):
// - The state (pull_state.hpp) is written atomically, and only after the
//   objects it covers are durable (fsync) in the output.
// - JSON lines appended to --out FILE: the state is recorded as pages land
//   (at most once a second); on resume, bytes past the recorded output length
//   (an interrupted page) are cut off first. So an interrupted pull, run
//   again, yields every object exactly once in FILE.
// - A bundle (or JSON lines without --state) to --out FILE is written to
//   FILE.partial and renamed over FILE when complete; an interrupted pull
//   leaves FILE and the state untouched.
// - To stdout: the state is recorded at the end, after a flush (and fsync
//   when stdout is a regular file).
// Interruption: *stop (set by a SIGINT handler) is checked between pages.
// Threads: one puller per taxii_client, one thread.

#include <atomic>
#include <cstddef>
#include <string>

#include "clients/cli_args.hpp"
#include "clients/progress_meter.hpp"
#include "clients/taxii_client.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

struct pull_settings {
  std::string api_root;    // path ("/sharing/")
  std::string collection;  // id or alias
  object_filters filters;  // types, ids, versions, spec versions, limit; added_after = --since
  output_format format = output_format::bundle;
  std::string out_file;    // "" = write to the descriptor given to run()
  std::string state_file;  // "" = not incremental
  std::string state_url;   // identifies server and API root in the state
};

struct pull_report {
  std::size_t objects = 0;
  std::size_t pages = 0;
  std::size_t bytes = 0;        // response bodies
  std::string started_after;    // added_after of the first request
  std::string last_date_added;  // newest X-TAXII-Date-Added-Last seen
  bool interrupted = false;
  bool state_written = false;
  std::size_t discarded_bytes = 0;  // cut from an appended output on resume
};

class puller {
 public:
  puller(taxii_client& client, progress_meter* progress, const std::atomic<bool>* stop);

  // Pulls as settings say; out_fd is used when settings.out_file is empty.
  // An interrupted pull is a success with report.interrupted set; network and
  // server errors fail (after the client's retries), with the state left at
  // the last safe point.
  result<pull_report> run(const pull_settings& settings, int out_fd);

 private:
  taxii_client& client_;
  progress_meter* progress_;
  const std::atomic<bool>* stop_;
};

}  // namespace cairn::clients

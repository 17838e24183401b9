#pragma once
// `cairn-bench`: a load generator for TAXII 2.1 servers. Phases:
//   publish    N synthetic indicators (synthetic_stix.hpp) in envelopes of B
//              objects, by C concurrent publishers; each request is timed
//              until its status is complete.
//   pull       C concurrent partners each read the whole collection in pages
//              of L objects (following next / added_after).
//   discovery  K keep-alive connections GET the discovery resource for S
//              seconds.
//   get        K keep-alive connections GET one fixed path (--get PATH) for S
//              seconds: the same load against cairnd and a static server
//              such as nginx.
// Every worker is a thread with its own taxii_client (its own connection).
// Results: objects/s, MB/s (10^6 bytes of response or request bodies),
// requests/s and latency p50/p99 per phase, printed with the parameters, or as
// JSON.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "clients/cli_args.hpp"
#include "clients/client_options.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

struct bench_args {
  client_options connection;
  std::string password_file;
  std::string token_file;
  bool insecure_warning = false;
  bool help = false;

  std::string root;  // API root name ("" = default)
  std::string collection = "indicators";
  std::vector<std::string> phases = {"publish", "pull", "discovery"};
  std::size_t objects = 10000;
  int publishers = 4;
  std::size_t batch = 1000;
  int pullers = 4;
  std::int64_t page = 1000;
  int connections = 16;
  double seconds = 5;
  std::string get_path;        // the get phase's target
  std::string discovery_path;  // "" = /taxii2/ (or the --url path when it is one)
  std::uint64_t seed = 0;      // 0 = random
  bool json = false;
  std::string out_file;  // also write the JSON report here
};

// Pure: parses the arguments after the program name (errors are usage errors).
result<bench_args> parse_bench_args(const std::vector<std::string>& args, const env_lookup& env);
std::string bench_help();

struct latency_summary {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double mean_ms = 0;
};
// Nearest-rank percentiles of the samples (milliseconds); zeros when empty.
latency_summary summarize_latency(std::vector<double> samples_ms);

struct phase_result {
  std::string phase;
  std::string parameters;  // "100000 objects, 4 publishers, batch 1000"
  double seconds = 0;
  std::size_t requests = 0;
  std::size_t objects = 0;
  std::size_t bytes = 0;
  std::size_t errors = 0;
  std::string first_error;
  latency_summary latency;
  // CPU time (user + system, all threads) this process spent on the phase:
  // shows whether the load tool, not the server, bounds a rate.
  double cpu_seconds = 0;

  double objects_per_second() const { return seconds > 0 ? objects / seconds : 0; }
  double megabytes_per_second() const { return seconds > 0 ? bytes / 1e6 / seconds : 0; }
  double requests_per_second() const { return seconds > 0 ? requests / seconds : 0; }
};

class load_generator {
 public:
  explicit load_generator(bench_args args);

  // Resolves the API root and collection, then runs the phases in order.
  // Fails when the server cannot be reached at all; request failures during
  // a phase are counted in its result.
  result<std::vector<phase_result>> run();

  result<phase_result> publish();
  result<phase_result> pull();
  result<phase_result> repeat_get(const std::string& phase, const std::string& target);

 private:
  result<void> prepare();

  bench_args args_;
  std::string root_;
  std::string collection_;
  bool prepared_ = false;
};

// What paging needs from a GET objects response, found by one linear pass
// over the text instead of a full parse, so that the load generator does not
// spend the cores the server under test needs. Not a validator: ok is false
// only when the text is not shaped like a JSON object. In next, a backslash
// escape stands for the character after it (enough for \" \\ \/).
struct envelope_scan {
  bool ok = false;
  bool more = false;
  std::string next;
  std::size_t objects = 0;
};
envelope_scan scan_envelope(std::string_view body);

// The report: one line per phase with its parameters and figures, or JSON.
std::string format_bench_report(const bench_args& args, const std::vector<phase_result>& results,
                                bool json);

}  // namespace cairn::clients

// The request thread's share of one POST of 1,000 objects, without TLS and
// HTTP: parse_envelope (JSON, validation, observables) and
// publish_request_for, over cairn-bench's synthetic indicators. A fixed
// workload for counting instructions before and after a change:
//   valgrind --tool=callgrind build/tests/server/server_publish_parse_bench 20
// Prints the objects handled and the wall-clock time per object (a rough
// figure; the instruction count is the one to compare).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "clients/synthetic_stix.hpp"
#include "formats/stix.hpp"
#include "server/api/publishing.hpp"

int main(int argc, char** argv) {
  using namespace cairn;
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  const auto objects = clients::synthetic_indicators(1000, {});
  std::string envelope = R"({"objects":[)";
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) envelope += ',';
    envelope += objects[i];
  }
  envelope += "]}";

  const server::account who{"bench", formats::tlp_level::red};
  const server::publication where{&who, 1, "bench", formats::tlp_level::green};
  std::size_t handled = 0, observables = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    auto parsed = formats::parse_envelope(envelope, {}, 10000);
    if (!parsed) {
      std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
      return 1;
    }
    auto request = server::publish_request_for(where, std::move(*parsed));
    handled += request.objects.size();
    for (const auto& o : request.objects) observables += o.observables.size();
  }
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  std::printf("%zu objects (%zu observables), %.2f us/object\n", handled, observables,
              took.count() / static_cast<double>(handled));
  return 0;
}

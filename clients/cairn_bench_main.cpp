// `cairn-bench`: wires the process to the load generator.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/durable_file.hpp"
#include "clients/load_generator.hpp"

int main(int argc, char** argv) {
  using namespace cairn::clients;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto env = [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  auto parsed = parse_bench_args(args, env);
  if (!parsed) {
    std::fprintf(stderr, "cairn-bench: %s\n", parsed.error().to_string().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(bench_help().c_str(), stdout);
    return 0;
  }
  if (auto r = load_secret_files(parsed->connection, parsed->password_file, parsed->token_file);
      !r) {
    std::fprintf(stderr, "cairn-bench: %s\n", r.error().to_string().c_str());
    return 2;
  }
  if (parsed->insecure_warning) {
    std::fputs("WARNING: --insecure: the server's certificate is NOT verified.\n", stderr);
  }
  load_generator generator(*parsed);
  auto results = generator.run();
  if (!results) {
    std::fprintf(stderr, "cairn-bench: %s\n", results.error().to_string().c_str());
    return 1;
  }
  std::fputs(format_bench_report(*parsed, *results, parsed->json).c_str(), stdout);
  if (!parsed->out_file.empty()) {
    if (auto r =
            write_file_atomically(parsed->out_file, format_bench_report(*parsed, *results, true));
        !r) {
      std::fprintf(stderr, "cairn-bench: %s\n", r.error().to_string().c_str());
      return 1;
    }
  }
  for (const auto& r : *results) {
    if (r.errors > 0) return 1;
  }
  return 0;
}

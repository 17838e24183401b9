#include "clients/load_generator.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "clients/lean_get.hpp"
#include "clients/publisher.hpp"
#include "clients/synthetic_stix.hpp"
#include "clients/taxii_client.hpp"
#include "formats/json.hpp"

namespace cairn::clients {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

template <class T>
result<T> parse_number(std::string_view option, std::string_view text, T min, T max) {
  T n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max) {
    return fail(std::string(option) + " needs a number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", not \"" + std::string(text) + "\"");
  }
  return n;
}

// What every worker thread records.
struct worker_tally {
  std::size_t requests = 0;
  std::size_t objects = 0;
  std::size_t bytes = 0;
  std::size_t errors = 0;
  std::string first_error;
  std::vector<double> latencies_ms;

  void error(std::string message) {
    ++errors;
    if (first_error.empty()) first_error = std::move(message);
  }
};

phase_result merge(std::string phase, std::string parameters, double seconds,
                   std::vector<worker_tally>& tallies) {
  phase_result r;
  r.phase = std::move(phase);
  r.parameters = std::move(parameters);
  r.seconds = seconds;
  std::vector<double> all;
  for (auto& t : tallies) {
    r.requests += t.requests;
    r.objects += t.objects;
    r.bytes += t.bytes;
    r.errors += t.errors;
    if (r.first_error.empty()) r.first_error = t.first_error;
    all.insert(all.end(), t.latencies_ms.begin(), t.latencies_ms.end());
  }
  r.latency = summarize_latency(std::move(all));
  return r;
}

// Runs n workers, each with its own client, started together once all are
// connected; returns the wall time from the common start to the last finish.
// warm, when given, opens worker i's connection instead of a GET of warm_up_target.
template <class Work>
result<double> run_workers(const client_options& options, int n, std::vector<worker_tally>& tallies,
                           const std::string& warm_up_target, Work work,
                           const std::function<result<void>(taxii_client&, int)>& warm = {}) {
  tallies.assign(static_cast<std::size_t>(n), {});
  std::vector<std::optional<taxii_client>> clients(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto c = taxii_client::make(options);
    if (!c) return std::unexpected(c.error());
    clients[static_cast<std::size_t>(i)].emplace(std::move(*c));
  }
  std::latch ready(n + 1);
  std::latch go(1);
  std::mutex error_mutex;
  std::string connect_error;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      auto& client = *clients[static_cast<std::size_t>(i)];
      // Open the connection (TLS handshake) before the clock starts.
      std::string failed;
      if (warm) {
        if (auto w = warm(client, i); !w) failed = w.error().message;
      } else if (auto w = client.request("GET", warm_up_target); !w) {
        failed = w.error().message;
      }
      if (!failed.empty()) {
        std::lock_guard lock(error_mutex);
        if (connect_error.empty()) connect_error = failed;
      }
      ready.count_down();
      go.wait();
      if (failed.empty()) work(client, tallies[static_cast<std::size_t>(i)], i);
    });
  }
  ready.arrive_and_wait();
  const auto start = clock_type::now();
  go.count_down();
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  if (!connect_error.empty()) return fail("cannot connect: " + connect_error);
  return seconds;
}

std::string discovery_target(const bench_args& a) {
  if (!a.discovery_path.empty()) return a.discovery_path;
  auto u = parse_url(a.connection.url);
  if (u && u->path.ends_with("taxii2/")) return u->path;
  return "/taxii2/";
}

}  // namespace

envelope_scan scan_envelope(std::string_view body) {
  envelope_scan out;
  int depth = 0;
  bool expect_key = false;
  bool in_objects = false;
  std::string_view key;
  std::size_t i = 0;
  const std::size_t n = body.size();
  while (i < n) {
    const char c = body[i];
    if (c == '"') {
      // Find the closing quote, stepping over escapes.
      std::size_t j = i + 1;
      while (j < n && body[j] != '"') j += body[j] == '\\' ? 2 : 1;
      if (j >= n) return {};
      const std::string_view text = body.substr(i + 1, j - i - 1);
      if (depth == 1) {
        if (expect_key) {
          key = text;
          expect_key = false;
        } else if (key == "next") {
          out.next.clear();
          for (std::size_t k = 0; k < text.size(); ++k) {
            // Opaque tokens hold no exotic escapes; undo the usual ones.
            if (text[k] == '\\' && k + 1 < text.size()) ++k;
            out.next += text[k];
          }
        }
      }
      i = j + 1;
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        if (depth == 2 && in_objects && c == '{') ++out.objects;
        if (depth == 1 && c == '[' && key == "objects") in_objects = true;
        ++depth;
        if (depth == 1) {
          if (c != '{') return {};
          expect_key = true;
        }
        break;
      case '}':
      case ']':
        if (--depth < 0) return {};
        if (depth == 1) in_objects = false;
        if (depth == 0) {
          out.ok = true;
          return out;
        }
        break;
      case ',':
        if (depth == 1) expect_key = true;
        break;
      case 't':
        if (depth == 1 && key == "more") out.more = true;
        break;
      default: break;
    }
    ++i;
  }
  return {};
}

latency_summary summarize_latency(std::vector<double> samples) {
  latency_summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(k, 1, samples.size()) - 1];
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.max_ms = samples.back();
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean_ms = sum / static_cast<double>(samples.size());
  return s;
}

result<bench_args> parse_bench_args(const std::vector<std::string>& args, const env_lookup& env) {
  bench_args out;
  connection_flags flags;
  auto& c = out.connection;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos && name.starts_with("--")) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto value = [&]() -> result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return fail(name + " needs a value");
      return args[++i];
    };
    auto flag = [&]() -> result<void> {
      if (inline_value) return fail(name + " takes no value");
      return {};
    };
#define CAIRN_VALUE(var)                                 \
  auto var##_r = value();                                \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  const std::string& var = *var##_r
    if (name == "--help" || name == "-h") {
      out.help = true;
      return out;
    } else if (name == "--url") {
      CAIRN_VALUE(v);
      c.url = v;
    } else if (name == "--user") {
      CAIRN_VALUE(v);
      flags.user = v;
    } else if (name == "--password-file") {
      CAIRN_VALUE(v);
      out.password_file = flags.password_file = v;
    } else if (name == "--token-file") {
      CAIRN_VALUE(v);
      out.token_file = flags.token_file = v;
    } else if (name == "--cacert") {
      CAIRN_VALUE(v);
      c.cacert_file = v;
    } else if (name == "--cert") {
      CAIRN_VALUE(v);
      c.client_cert_file = v;
    } else if (name == "--key") {
      CAIRN_VALUE(v);
      c.client_key_file = v;
    } else if (name == "--pin") {
      CAIRN_VALUE(v);
      c.pinned_cert_sha256 = v;
    } else if (name == "--insecure") {
      if (auto r = flag(); !r) return std::unexpected(r.error());
      c.insecure = true;
      out.insecure_warning = true;
    } else if (name == "--root") {
      CAIRN_VALUE(v);
      out.root = v;
    } else if (name == "--collection") {
      CAIRN_VALUE(v);
      out.collection = v;
    } else if (name == "--phases") {
      CAIRN_VALUE(v);
      out.phases.clear();
      std::size_t pos = 0;
      while (pos <= v.size()) {
        const auto comma = v.find(',', pos);
        std::string p = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (p != "publish" && p != "pull" && p != "discovery" && p != "get") {
          return fail("--phases takes publish, pull, discovery and get, not \"" + p + "\"");
        }
        out.phases.push_back(p);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else if (name == "--objects") {
      CAIRN_VALUE(v);
      auto n = parse_number<std::size_t>(name, v, 1, 100'000'000);
      if (!n) return std::unexpected(n.error());
      out.objects = *n;
    } else if (name == "--publishers") {
      CAIRN_VALUE(v);
      auto n = parse_number<int>(name, v, 1, 1024);
      if (!n) return std::unexpected(n.error());
      out.publishers = *n;
    } else if (name == "--batch") {
      CAIRN_VALUE(v);
      auto n = parse_number<std::size_t>(name, v, 1, 100'000);
      if (!n) return std::unexpected(n.error());
      out.batch = *n;
    } else if (name == "--pullers") {
      CAIRN_VALUE(v);
      auto n = parse_number<int>(name, v, 1, 1024);
      if (!n) return std::unexpected(n.error());
      out.pullers = *n;
    } else if (name == "--page") {
      CAIRN_VALUE(v);
      auto n = parse_number<std::int64_t>(name, v, 1, 1'000'000);
      if (!n) return std::unexpected(n.error());
      out.page = *n;
    } else if (name == "--connections") {
      CAIRN_VALUE(v);
      auto n = parse_number<int>(name, v, 1, 4096);
      if (!n) return std::unexpected(n.error());
      out.connections = *n;
    } else if (name == "--seconds") {
      CAIRN_VALUE(v);
      auto n = parse_number<int>(name, v, 1, 3600);
      if (!n) return std::unexpected(n.error());
      out.seconds = *n;
    } else if (name == "--get") {
      CAIRN_VALUE(v);
      if (v.empty() || v.front() != '/') return fail("--get takes a path starting with '/'");
      out.get_path = v;
    } else if (name == "--discovery-path") {
      CAIRN_VALUE(v);
      if (v.empty() || v.front() != '/') {
        return fail("--discovery-path takes a path starting with '/'");
      }
      out.discovery_path = v;
    } else if (name == "--seed") {
      CAIRN_VALUE(v);
      auto n = parse_number<std::uint64_t>(name, v, 1, UINT64_MAX);
      if (!n) return std::unexpected(n.error());
      out.seed = *n;
    } else if (name == "--timeout") {
      CAIRN_VALUE(v);
      auto n = parse_number<int>(name, v, 1, 3600);
      if (!n) return std::unexpected(n.error());
      c.timeout = std::chrono::seconds(*n);
    } else if (name == "--json") {
      if (auto r = flag(); !r) return std::unexpected(r.error());
      out.json = true;
    } else if (name == "--out") {
      CAIRN_VALUE(v);
      out.out_file = v;
    } else {
      return fail("unknown option " + name + " (see cairn-bench --help)");
    }
#undef CAIRN_VALUE
  }
  if (std::find(out.phases.begin(), out.phases.end(), "get") != out.phases.end() &&
      out.get_path.empty()) {
    return fail("the get phase needs --get PATH");
  }
  if (!out.get_path.empty() &&
      std::find(out.phases.begin(), out.phases.end(), "get") == out.phases.end()) {
    out.phases.push_back("get");
  }
  if (auto r = resolve_connection(c, flags, env); !r) return std::unexpected(r.error());
  // A benchmark measures the server, not the client's patience.
  c.retries = 0;
  return out;
}

std::string bench_help() {
  return R"(cairn-bench: load generator for TAXII 2.1 servers

usage: cairn-bench --url URL [options]

Phases (--phases, default publish,pull,discovery):
  publish     --objects N synthetic indicators, --publishers C threads, --batch B per request
  pull        --pullers C partners each read the whole collection in pages of --page L
  discovery   --connections K keep-alive connections GET discovery for --seconds S
  get         the same load on one fixed path (--get PATH), e.g. against nginx

Options:
  --collection C        collection id or alias (default indicators)
  --root R              API root (default: the discovery default)
  --seed N              synthetic data seed (default: random)
  --discovery-path P    discovery resource path (default /taxii2/)
  --json                print the report as JSON
  --out FILE            also write the JSON report to FILE
  --url, --user, --password-file, --token-file, --cacert, --pin, --cert, --key,
  --insecure, --timeout: as for cairn (CAIRN_URL, CAIRN_USER, CAIRN_PASSWORD,
  CAIRN_TOKEN are read too)

Examples:
  cairn-bench --url https://127.0.0.1:8443/taxii2/ --cacert ca.pem --user bench \
      --password-file pw --objects 100000 --publishers 4 --batch 1000 --pullers 4
  cairn-bench --url https://127.0.0.1:8080/ --cacert ca.pem --phases get \
      --get /page.json --connections 64 --seconds 10 --json
)";
}

load_generator::load_generator(bench_args args) : args_(std::move(args)) {
  if (args_.seed == 0) args_.seed = std::random_device{}() | 1;
}

result<void> load_generator::prepare() {
  if (prepared_) return {};
  auto client = taxii_client::make(args_.connection);
  if (!client) return std::unexpected(client.error());
  auto root = client->resolve_api_root(args_.root);
  if (!root) return std::unexpected(root.error());
  root_ = *root;
  collection_ = client->resolve_collection(root_, args_.collection);
  prepared_ = true;
  return {};
}

result<phase_result> load_generator::publish() {
  if (auto r = prepare(); !r) return std::unexpected(r.error());
  synthetic_options so;
  so.seed = args_.seed;
  const auto objects = synthetic_indicators(args_.objects, so);
  std::vector<std::string_view> views(objects.begin(), objects.end());
  std::vector<std::string> envelopes;
  for (std::size_t first = 0; first < views.size(); first += args_.batch) {
    envelopes.push_back(make_envelope(views, first, std::min(views.size(), first + args_.batch)));
  }
  std::atomic<std::size_t> next{0};
  std::vector<worker_tally> tallies;
  const std::string root = root_, collection = collection_;
  auto seconds = run_workers(
      args_.connection, args_.publishers, tallies, root,
      [&](taxii_client& client, worker_tally& t, int) {
        for (;;) {
          const std::size_t i = next.fetch_add(1);
          if (i >= envelopes.size()) return;
          const auto start = clock_type::now();
          auto status = client.add_objects(root, collection, envelopes[i]);
          if (status && !status->complete()) {
            status = client.wait_for_status(root, std::move(*status), std::chrono::seconds(600));
          }
          t.latencies_ms.push_back(ms_since(start));
          ++t.requests;
          t.bytes += envelopes[i].size();
          if (!status) {
            t.error(status.error().message);
            continue;
          }
          t.objects += static_cast<std::size_t>(std::max<std::int64_t>(0, status->success_count));
          if (status->failure_count > 0 || !status->complete()) {
            t.error("status " + status->id + ": " + std::to_string(status->failure_count) +
                    " failed, " + std::to_string(status->pending_count) + " pending" +
                    (status->failures.empty() ? std::string{}
                                              : " (" + status->failures.front().message + ")"));
          }
        }
      });
  if (!seconds) return std::unexpected(seconds.error());
  return merge("publish",
               std::to_string(args_.objects) + " objects, " + std::to_string(args_.publishers) +
                   " publishers, batch " + std::to_string(args_.batch),
               *seconds, tallies);
}

result<phase_result> load_generator::pull() {
  if (auto r = prepare(); !r) return std::unexpected(r.error());
  std::vector<worker_tally> tallies;
  const std::string base = root_ + "collections/" + percent_encode(collection_) + "/objects/";
  const std::int64_t page = args_.page;
  auto seconds =
      run_workers(args_.connection, args_.pullers, tallies, root_,
                  [&](taxii_client& client, worker_tally& t, int) {
                    object_filters f;
                    f.limit = page;
                    for (std::size_t pages = 0; pages < 100'000'000; ++pages) {
                      const auto start = clock_type::now();
                      auto r = client.request("GET", base + f.to_query());
                      t.latencies_ms.push_back(ms_since(start));
                      ++t.requests;
                      if (!r) return t.error(r.error().message);
                      if (!r->ok())
                        return t.error(describe_error_response(r->status, r->reason, r->body));
                      t.bytes += r->body.size();
                      // Only what paging needs: the client should not cost the server
                      // its cores.
                      const envelope_scan page_scan = scan_envelope(r->body);
                      if (!page_scan.ok) return t.error("a page is not a JSON object");
                      t.objects += page_scan.objects;
                      if (!page_scan.more) return;
                      if (!page_scan.next.empty()) {
                        f.next = page_scan.next;
                        continue;
                      }
                      auto last = r->header("X-TAXII-Date-Added-Last");
                      if (!last || *last == f.added_after)
                        return t.error("more without next or progress");
                      f.next.clear();
                      f.added_after = *last;
                    }
                  });
  if (!seconds) return std::unexpected(seconds.error());
  return merge("pull",
               std::to_string(args_.pullers) + " pullers, page " + std::to_string(args_.page),
               *seconds, tallies);
}

result<phase_result> load_generator::repeat_get(const std::string& phase,
                                                const std::string& target) {
  if (target.empty() || target.front() != '/' ||
      target.find_first_of(" \r\n") != std::string::npos) {
    return fail("bad request target \"" + target + "\"");
  }
  std::vector<worker_tally> tallies;
  // One lean connection per worker (clients/lean_get.hpp), opened before the clock starts.
  std::vector<std::optional<lean_get_connection>> lean(static_cast<std::size_t>(args_.connections));
  const auto timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(args_.connection.timeout);
  auto connect = [&](const taxii_client& client, int i) -> result<void> {
    auto c = lean_get_connection::open(client.server(), client.tls(), timeout);
    if (!c) return std::unexpected(c.error());
    lean[static_cast<std::size_t>(i)].emplace(std::move(*c));
    return {};
  };
  auto warm = [&](taxii_client& client, int i) -> result<void> {
    if (auto c = connect(client, i); !c) return c;
    auto r = lean[static_cast<std::size_t>(i)]->get(client.get_head(target));
    if (!r) return std::unexpected(r.error());
    return {};
  };
  const auto duration = std::chrono::duration<double>(args_.seconds);
  auto seconds = run_workers(
      args_.connection, args_.connections, tallies, target,
      [&](taxii_client& client, worker_tally& t, int i) {
        auto& conn = lean[static_cast<std::size_t>(i)];
        const std::string head = client.get_head(target);
        const auto deadline = clock_type::now() + duration;
        while (clock_type::now() < deadline) {
          const auto start = clock_type::now();
          if (!conn->is_open()) {
            if (auto c = connect(client, i); !c) return t.error(c.error().message);
          }
          auto r = conn->get(head);
          t.latencies_ms.push_back(ms_since(start));
          ++t.requests;
          if (!r) return t.error(r.error().message);
          if (r->status < 200 || r->status >= 300) {
            t.error(describe_error_response(r->status, "", r->body_start));
            continue;
          }
          t.bytes += r->body_bytes;
        }
      },
      warm);
  if (!seconds) return std::unexpected(seconds.error());
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", args_.seconds);
  return merge(phase,
               std::to_string(args_.connections) + " connections, " + secs + " s, GET " + target,
               *seconds, tallies);
}

namespace {

// User and system CPU time of this whole process so far, in seconds.
double process_cpu_seconds() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

result<std::vector<phase_result>> load_generator::run() {
  std::vector<phase_result> results;
  for (const auto& phase : args_.phases) {
    const double cpu_before = process_cpu_seconds();
    result<phase_result> r = fail("unknown phase " + phase);
    if (phase == "publish") {
      r = publish();
    } else if (phase == "pull") {
      r = pull();
    } else if (phase == "discovery") {
      r = repeat_get("discovery", discovery_target(args_));
    } else if (phase == "get") {
      r = repeat_get("get", args_.get_path);
    }
    if (!r) return fail(phase + ": " + r.error().message);
    r->cpu_seconds = process_cpu_seconds() - cpu_before;
    results.push_back(std::move(*r));
  }
  return results;
}

std::string format_bench_report(const bench_args& args, const std::vector<phase_result>& results,
                                bool json) {
  if (json) {
    formats::json_writer w;
    w.begin_object();
    w.member("tool", "cairn-bench");
    w.key("parameters").begin_object();
    w.member("url", args.connection.url);
    w.member("collection", args.collection);
    w.member("objects", static_cast<std::int64_t>(args.objects));
    w.member("publishers", static_cast<std::int64_t>(args.publishers));
    w.member("batch", static_cast<std::int64_t>(args.batch));
    w.member("pullers", static_cast<std::int64_t>(args.pullers));
    w.member("page", args.page);
    w.member("connections", static_cast<std::int64_t>(args.connections));
    w.key("seconds").number(args.seconds);
    if (!args.get_path.empty()) w.member("get", args.get_path);
    w.end_object();
    w.key("phases").begin_array();
    for (const auto& r : results) {
      w.begin_object();
      w.member("phase", r.phase);
      w.member("parameters", r.parameters);
      w.key("seconds").number(r.seconds);
      w.member("requests", static_cast<std::int64_t>(r.requests));
      w.member("objects", static_cast<std::int64_t>(r.objects));
      w.member("bytes", static_cast<std::int64_t>(r.bytes));
      w.member("errors", static_cast<std::int64_t>(r.errors));
      if (!r.first_error.empty()) w.member("first_error", r.first_error);
      w.key("cpu_seconds").number(r.cpu_seconds);
      w.key("objects_per_second").number(r.objects_per_second());
      w.key("megabytes_per_second").number(r.megabytes_per_second());
      w.key("requests_per_second").number(r.requests_per_second());
      w.key("latency_ms").begin_object();
      w.key("p50").number(r.latency.p50_ms);
      w.key("p99").number(r.latency.p99_ms);
      w.key("max").number(r.latency.max_ms);
      w.key("mean").number(r.latency.mean_ms);
      w.end_object();
      w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.take() + "\n";
  }
  std::string out =
      "cairn-bench against " + args.connection.url + " (collection " + args.collection + ")\n";
  char line[512];
  for (const auto& r : results) {
    std::snprintf(line, sizeof line,
                  "%-9s %s\n          %.0f objects/s  %.1f MB/s  %.1f requests/s  "
                  "p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu requests, %zu objects, %.2f s, "
                  "%zu errors)\n",
                  r.phase.c_str(), r.parameters.c_str(), r.objects_per_second(),
                  r.megabytes_per_second(), r.requests_per_second(), r.latency.p50_ms,
                  r.latency.p99_ms, r.latency.max_ms, r.requests, r.objects, r.seconds, r.errors);
    out += line;
    if (!r.first_error.empty()) out += "          first error: " + r.first_error + "\n";
  }
  return out;
}

}  // namespace cairn::clients

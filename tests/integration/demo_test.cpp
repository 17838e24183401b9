// `cairnd demo`: creates its folder, loads the scenario and the built-in
// reference examples, prints working credentials, serves; a second run reuses
// the folder.
#include "server/app/demo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>
#include <thread>

#include "formats/stix.hpp"
#include "test_server.hpp"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

struct demo_process {
  int pid = -1;
  fs::path out;

  // Runs `cairnd demo --dir DIR` in the folder cwd (the test's own when empty).
  demo_process(const fs::path& dir, const fs::path& out_file, const fs::path& cwd = {})
      : out(out_file) {
    const std::string binary = std::string(CAIRN_BINARY_DIR) + "/server/cairnd";
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
      int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      int err = ::open((out_file.string() + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(err, 2);
      execl(binary.c_str(), "cairnd", "demo", "--dir", dir.c_str(), "--port", "0", nullptr);
      _exit(127);
    }
  }
  ~demo_process() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
  std::string wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto text = testing::read_file(out);
      if (text.find("Serving until") != std::string::npos) return text;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("demo did not come up: " << testing::read_file(out)
                                  << testing::read_file(out.string() + ".err"));
    return {};
  }
};

std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex(pattern)));
  return m[1];
}

// Every object of a collection the client may see, all versions.
std::size_t count_objects(clients::taxii_client& c, const std::string& collection) {
  clients::object_filters f;
  f.versions = {"all"};
  std::size_t n = 0;
  while (true) {
    auto p = c.get_objects("/sharing/", collection, f);
    REQUIRE(p);
    n += p->objects.size();
    if (!p->more) break;
    f.next = p->next;
  }
  return n;
}

// The objects built into cairnd for the `reference` collection.
std::size_t builtin_reference_objects() {
  auto parsed = formats::parse_stix_content(server::demo_reference_json(), {}, 100000);
  REQUIRE(parsed);
  return parsed->size();
}

}  // namespace

TEST_CASE("cairnd demo serves the scenario and the corpus with working accounts") {
  const testing::temp_dir temp("cairn-demo-test");
  const fs::path& root = temp.path();
  const fs::path dir = root / "demo";
  std::string partner_password;
  {
    demo_process demo(dir, root / "out.txt");
    auto text = demo.wait_ready();
    CHECK(text.find("Loaded 60 scenario objects") != std::string::npos);
    partner_password = capture(text, "partner: user partner  password (\\S+)");
    // The files that hold secrets (password hashes, the TLS key, the audit
    // signing key), and the folder, are for the owner only. Before:
    // cairn.json was written 0644 and the folder made 0755 (under umask 022).
    for (const auto& secret :
         {dir, dir / "cairn.json", dir / "server.key", dir / "data" / "audit-signing.key"}) {
      struct stat st {};
      INFO(secret.string());
      REQUIRE(::stat(secret.c_str(), &st) == 0);
      CHECK((st.st_mode & 077) == 0);
    }
    const auto publisher_password = capture(text, "publisher: user publisher  password (\\S+)");
    const auto port = capture(text, "https://127\\.0\\.0\\.1:(\\d+)/taxii2/");
    // The banner names the console on the port it really got.
    CHECK(text.find("Console:   https://127.0.0.1:" + port + "/cairn/console/") !=
          std::string::npos);

    clients::client_options o;
    o.url = "https://127.0.0.1:" + port + "/taxii2/";
    o.cacert_file = (dir / "server.pem").string();
    o.user = "partner";
    o.password = partner_password;
    o.retries = 0;
    auto partner = clients::taxii_client::make(o);
    REQUIRE(partner);
    auto disc = partner->discovery();
    INFO((disc ? std::string() : disc.error().to_string()));
    REQUIRE(disc);
    CHECK(disc->title == "Cairn demo exchange");

    auto count = count_objects;
    o.user = "publisher";
    o.password = publisher_password;
    auto publisher = clients::taxii_client::make(o);
    REQUIRE(publisher);
    const auto all_intel = count(*publisher, "intel");
    const auto green_intel = count(*partner, "intel");
    CHECK(all_intel == 60);
    // The partner is cleared for green: amber and red scenario objects are withheld.
    CHECK(green_intel > 0);
    CHECK(green_intel < all_intel);
    // The reference collection holds the built-in examples (before: every
    // file of ../shared/corpus/valid, more than 400 objects, when that folder
    // was there, and nothing otherwise).
    CHECK(count(*publisher, "reference") == builtin_reference_objects());
    CHECK(count(*partner, "reference") > 0);
  }
  // As an earlier release left them (0755 folder, 0644 config).
  fs::permissions(dir,
                  fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                      fs::perms::others_exec,
                  fs::perm_options::add);
  fs::permissions(dir / "cairn.json", fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  {
    // A second run reuses the folder: same accounts, no second load.
    demo_process demo(dir, root / "out2.txt");
    auto text = demo.wait_ready();
    CHECK(text.find("Loaded") == std::string::npos);
    // The reused folder and config are the owner's only again. Before: they
    // kept the modes an earlier release gave them.
    for (const auto& secret : {dir, dir / "cairn.json"}) {
      struct stat st {};
      INFO(secret.string());
      REQUIRE(::stat(secret.c_str(), &st) == 0);
      CHECK((st.st_mode & 077) == 0);
    }
    const auto port = capture(text, "https://127\\.0\\.0\\.1:(\\d+)/taxii2/");
    clients::client_options o;
    o.url = "https://127.0.0.1:" + port + "/taxii2/";
    o.cacert_file = (dir / "server.pem").string();
    o.user = "partner";
    o.password = partner_password;
    auto partner = clients::taxii_client::make(o);
    REQUIRE(partner);
    CHECK(partner->discovery());
  }
}

TEST_CASE("cairnd demo started in an empty folder serves the built-in reference examples") {
  // Before: the demo read its reference examples from ../shared/corpus/valid
  // (or the source tree's sibling), which a clone does not have, and served
  // an empty `reference` collection. The data must be inside cairnd.
  const auto binary = testing::read_file(std::string(CAIRN_BINARY_DIR) + "/server/cairnd");
  REQUIRE(!binary.empty());
  CHECK(binary.find("shared/corpus") == std::string::npos);
  CHECK(binary.find("corpus/valid") == std::string::npos);

  const testing::temp_dir temp("cairn-demo-empty");
  const fs::path& root = temp.path();
  const fs::path cwd = root / "empty";
  fs::create_directories(cwd);
  {
    demo_process demo("demo", root / "out.txt", cwd);
    auto text = demo.wait_ready();
    const auto expected = builtin_reference_objects();
    CHECK(expected >= 30);
    CHECK(text.find("and " + std::to_string(expected) + " reference objects into 'reference'") !=
          std::string::npos);
    const auto port = capture(text, "https://127\\.0\\.0\\.1:(\\d+)/taxii2/");
    clients::client_options o;
    o.url = "https://127.0.0.1:" + port + "/taxii2/";
    o.cacert_file = (cwd / "demo" / "server.pem").string();
    o.user = "publisher";
    o.password = capture(text, "publisher: user publisher  password (\\S+)");
    o.retries = 0;
    auto publisher = clients::taxii_client::make(o);
    REQUIRE(publisher);
    CHECK(count_objects(*publisher, "reference") == expected);
    o.user = "partner";
    o.password = capture(text, "partner: user partner  password (\\S+)");
    auto partner = clients::taxii_client::make(o);
    REQUIRE(partner);
    CHECK(count_objects(*partner, "reference") > 0);
  }
}

#include "formats/secret_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace cairn::formats;
namespace fs = std::filesystem;

namespace {

struct scratch_dir {
  fs::path path;
  scratch_dir() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-secret-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets a umask for the scope, as a daemon started by an unknown shell has one.
struct umask_scope {
  mode_t old;
  explicit umask_scope(mode_t m) : old(::umask(m)) {}
  ~umask_scope() { ::umask(old); }
};

}  // namespace

TEST_CASE("write_secret_file creates an owner-only file", "[formats][secret_file]") {
  scratch_dir dir;
  umask_scope open_umask(0);  // would leave 0666 bits if the mode were not forced
  const auto p = dir.path / "key.pem";
  REQUIRE(write_secret_file(p, "secret\n", if_file_exists::fail));
  CHECK(contents(p) == "secret\n");
  CHECK(mode_of(p) == 0600);
}

TEST_CASE("write_secret_file with fail refuses an existing file", "[formats][secret_file]") {
  scratch_dir dir;
  const auto p = dir.path / "token.key";
  REQUIRE(write_secret_file(p, "first", if_file_exists::fail));
  auto again = write_secret_file(p, "second", if_file_exists::fail);
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find(p.string()) != std::string::npos);
  CHECK(contents(p) == "first");
}

TEST_CASE("write_secret_file with replace truncates and resets the mode",
          "[formats][secret_file]") {
  scratch_dir dir;
  const auto p = dir.path / "cairn.json";
  { std::ofstream(p) << "an older and longer text"; }
  fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  REQUIRE(write_secret_file(p, "new", if_file_exists::replace));
  CHECK(contents(p) == "new");
  CHECK(mode_of(p) == 0600);
  // A file meant to be read by others gets the mode asked for, whatever the umask.
  umask_scope strict_umask(077);
  const auto cert = dir.path / "server.pem";
  REQUIRE(write_secret_file(cert, "cert", if_file_exists::replace, 0644));
  CHECK(mode_of(cert) == 0644);
}

TEST_CASE("write_secret_file never writes through a symbolic link", "[formats][secret_file]") {
  scratch_dir dir;
  const auto target = dir.path / "elsewhere";
  { std::ofstream(target) << "untouched"; }
  const auto link = dir.path / "key.pem";
  fs::create_symlink(target, link);
  CHECK_FALSE(write_secret_file(link, "secret", if_file_exists::replace));
  CHECK_FALSE(write_secret_file(link, "secret", if_file_exists::fail));
  CHECK(contents(target) == "untouched");
  CHECK_FALSE(write_secret_file(dir.path / "missing" / "key.pem", "x", if_file_exists::fail));
}

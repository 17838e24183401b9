#include "server/app/commands.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

#include "server/config/credentials.hpp"
#include "tests/server/test_support.hpp"

using namespace cairn::server;

namespace {

struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result check_config_cmd(std::vector<std::string_view> args) {
  std::ostringstream out, err;
  const int code = run_check_config(args, out, err);
  return {code, out.str(), err.str()};
}

std::string config_text(std::string_view clearance) {
  return R"({"listen": "127.0.0.1:0", "data_dir": "data",
    "tls": {"cert": "server.pem", "key": "server.key"},
    "discovery": {"title": "t"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11", "title": "c", "alias": "c"}]}},
    "accounts": [{"name": "a", "token_hashes": [")" +
         token_hash("t") + R"("], "read": ["c"], "clearance": ")" + std::string(clearance) +
         R"("}]})";
}

}  // namespace

TEST_CASE("check-config says ok for a good file, lists problems and exits 2 otherwise") {
  test::temp_dir dir;
  REQUIRE(make_self_signed(dir / "server.pem", dir / "server.key"));
  const auto file = (dir / "cairn.json").string();
  test::write_text(file, config_text("green"));

  auto ok = check_config_cmd({"--config", file});
  CHECK(ok.code == 0);
  CHECK(ok.out == "ok\n");
  auto ok2 = check_config_cmd({"--config=" + file});
  CHECK(ok2.code == 0);

  test::write_text(file, config_text("greenish"));
  auto bad = check_config_cmd({"--config", file});
  CHECK(bad.code == 2);
  CHECK(bad.out.starts_with("/accounts/0/clearance: must be one of"));
  CHECK_FALSE(bad.err.empty());

  // The file is fine but the key does not load.
  test::write_text(file, config_text("green"));
  test::write_text(dir / "server.key", "not a key");
  auto tls = check_config_cmd({"--config", file});
  CHECK(tls.code == 2);
  CHECK(tls.out.starts_with("/tls: "));
}

TEST_CASE("check-config refuses bad usage and unreadable files") {
  CHECK(check_config_cmd({}).code == 2);
  CHECK(check_config_cmd({"--config"}).code == 2);
  CHECK(check_config_cmd({"--cfg", "x"}).code == 2);
  auto missing = check_config_cmd({"--config", "/nonexistent/cairn.json"});
  CHECK(missing.code == 2);
  CHECK(missing.out.find("cannot open") != std::string::npos);
}

TEST_CASE("hash-secret reads one line and prints a PHC string that verifies") {
  std::istringstream in("s3cret pass\r\nignored\n");
  std::ostringstream out, err;
  CHECK(run_hash_secret({}, in, out, err) == 0);
  std::string phc = out.str();
  REQUIRE(phc.ends_with("\n"));
  phc.pop_back();
  CHECK(phc.starts_with("$scrypt$"));
  CHECK(verify_secret("s3cret pass", phc));
  CHECK_FALSE(verify_secret("s3cret pass\r", phc));

  std::istringstream no_newline("abc");
  std::ostringstream out2;
  CHECK(run_hash_secret({}, no_newline, out2, err) == 0);
  CHECK(verify_secret("abc", out2.str().substr(0, out2.str().size() - 1)));
}

TEST_CASE("hash-secret refuses an empty secret and arguments") {
  for (const char* input : {"", "\n", "\r\n"}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    CHECK(run_hash_secret({}, in, out, err) == 2);
    CHECK(out.str().empty());
    CHECK(err.str().find("empty") != std::string::npos);
  }
  std::istringstream in("x\n");
  std::ostringstream out, err;
  std::vector<std::string_view> args{"x"};
  CHECK(run_hash_secret(args, in, out, err) == 2);
  std::istringstream huge(std::string(5000, 'a'));
  CHECK(run_hash_secret({}, huge, out, err) == 2);
}

TEST_CASE("token issue prints a labelled token and its hash") {
  std::ostringstream out, err;
  CHECK(run_token_issue({}, out, err) == 0);
  std::istringstream lines(out.str());
  std::string token_line, hash_line;
  std::getline(lines, token_line);
  std::getline(lines, hash_line);
  REQUIRE(token_line.starts_with("token: "));
  REQUIRE(hash_line.starts_with("token_hashes entry: "));
  const auto token = token_line.substr(7);
  const auto hash = hash_line.substr(20);
  CHECK(token.size() >= 6 + 22);  // >= 128 bits
  CHECK(is_token_hash(hash));
  CHECK(verify_token(token, hash));

  std::ostringstream out2;
  run_token_issue({}, out2, err);
  CHECK(out2.str() != out.str());
  std::vector<std::string_view> args{"--x"};
  CHECK(run_token_issue(args, out2, err) == 2);
}

TEST_CASE("check-config refuses a weak password hash with its pointer") {
  test::temp_dir dir;
  REQUIRE(make_self_signed(dir / "server.pem", dir / "server.key"));
  const auto file = (dir / "cairn.json").string();
  // Before: exit 0, "ok" (ln=10, r=1, p=1 was accepted).
  auto text = config_text("green");
  const std::string token_field = R"("token_hashes": [")" + token_hash("t") + R"("])";
  const auto at = text.find(token_field);
  REQUIRE(at != std::string::npos);
  text.replace(at, token_field.size(),
               R"("password_hash": "$scrypt$ln=10,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$)"
               R"(AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")");
  test::write_text(file, text);
  auto weak = check_config_cmd({"--config", file});
  CHECK(weak.code == 2);
  CHECK(weak.out.starts_with("/accounts/0/password_hash: "));
  CHECK(weak.out.find("hash-secret") != std::string::npos);
}

TEST_CASE("check-config refuses a bad max_connections_per_address with its pointer") {
  test::temp_dir dir;
  REQUIRE(make_self_signed(dir / "server.pem", dir / "server.key"));
  const auto file = (dir / "cairn.json").string();
  // Before: "unknown key" (the key did not exist).
  auto text = config_text("green");
  text.replace(text.find(R"("discovery")"), 0, R"("limits": {"max_connections_per_address": 0}, )");
  test::write_text(file, text);
  auto limit = check_config_cmd({"--config", file});
  CHECK(limit.code == 2);
  CHECK(limit.out.starts_with("/limits/max_connections_per_address: must be between 1 and"));
}

#include "clients/progress_meter.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace cairn::clients;

namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[1024];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

}  // namespace

TEST_CASE("progress is drawn only when enabled, and cleared at the end", "[clients][progress]") {
  std::FILE* f = std::tmpfile();
  {
    progress_meter quiet(f, false, "pull");
    quiet.add(10, 1000);
    CHECK(quiet.objects() == 10);
    CHECK(quiet.bytes() == 1000);
  }
  CHECK(contents(f).empty());

  {
    progress_meter shown(f, true, "publish");
    shown.set_total(40);
    shown.add(10, 2048);
    shown.finish();
  }
  const std::string text = contents(f);
  CHECK(text.find("publish: 10/40 (25%) objects  2.0 KiB") != std::string::npos);
  CHECK(text.ends_with("\r\033[K"));
  std::fclose(f);
}

TEST_CASE("human_bytes", "[clients][progress]") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1023) == "1023 B");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(10.0 * 1024 * 1024) == "10.0 MiB");
}

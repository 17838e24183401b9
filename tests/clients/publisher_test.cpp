#include "clients/publisher.hpp"

#include <catch2/catch.hpp>

#include "formats/json.hpp"

using namespace cairn::clients;

namespace {

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

std::size_t envelope_size(const std::vector<std::string_view>& objects, std::size_t first,
                          std::size_t last) {
  return make_envelope(objects, first, last).size();
}

}  // namespace

TEST_CASE("make_envelope writes a TAXII envelope", "[clients][publish]") {
  const std::vector<std::string> objects = {R"({"id":"a"})", R"({"id":"b"})", R"({"id":"c"})"};
  const auto v = views(objects);
  CHECK(make_envelope(v, 0, 3) == R"({"objects":[{"id":"a"},{"id":"b"},{"id":"c"}]})");
  CHECK(make_envelope(v, 1, 2) == R"({"objects":[{"id":"b"}]})");
  auto doc = cairn::formats::parse_json(make_envelope(v, 0, 3));
  REQUIRE(doc);
  CHECK(doc->root().get("objects")->size() == 3);
}

TEST_CASE("plan_batches keeps every envelope under the size and count limits",
          "[clients][publish]") {
  std::vector<std::string> objects;
  for (int i = 0; i < 200; ++i) {
    objects.push_back("{\"id\":\"x--" + std::to_string(i) + "\",\"pad\":\"" +
                      std::string(static_cast<std::size_t>(i % 37) * 3, 'p') + "\"}");
  }
  const auto v = views(objects);
  for (std::size_t max_bytes : {200u, 333u, 1000u, 4096u, 1000000u}) {
    for (std::size_t max_count : {1u, 7u, 1000u}) {
      const batch_plan plan = plan_batches(v, max_bytes, max_count);
      CHECK(plan.too_large.empty());
      std::size_t expected_first = 0;
      for (const auto& [first, last] : plan.batches) {
        CHECK(first == expected_first);  // contiguous, in order, none skipped
        CHECK(last > first);
        CHECK(last - first <= max_count);
        CHECK(envelope_size(v, first, last) <= max_bytes);
        // Greedy: the next object would not have fit.
        if (last < v.size() && last - first < max_count) {
          CHECK(envelope_size(v, first, last + 1) > max_bytes);
        }
        expected_first = last;
      }
      CHECK(expected_first == v.size());
    }
  }
}

TEST_CASE("plan_batches sets aside objects that cannot fit alone", "[clients][publish]") {
  const std::vector<std::string> objects = {R"({"id":"a"})", std::string(500, 'x'), R"({"id":"b"})",
                                            R"({"id":"c"})"};
  const auto v = views(objects);
  const batch_plan plan = plan_batches(v, 100, 1000);
  CHECK(plan.too_large == std::vector<std::size_t>{1});
  REQUIRE(plan.batches.size() == 2);
  CHECK(plan.batches[0] == std::pair<std::size_t, std::size_t>{0, 1});
  CHECK(plan.batches[1] == std::pair<std::size_t, std::size_t>{2, 4});

  // The exact boundary: an envelope of exactly max_bytes is allowed.
  const std::size_t exact = envelope_size(v, 2, 4);
  CHECK(plan_batches(v, exact, 1000).batches.back() == std::pair<std::size_t, std::size_t>{2, 4});
  const auto tighter = plan_batches(v, exact - 1, 1000);
  CHECK(tighter.batches.back() == std::pair<std::size_t, std::size_t>{3, 4});

  CHECK(plan_batches({}, 100, 10).batches.empty());
}

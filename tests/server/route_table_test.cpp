#include "server/api/route_table.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace cairn::server;
using table = route_table<std::string>;
using outcome = table::outcome;
using http::verb;

namespace {

std::vector<std::string> segs(std::initializer_list<const char*> s) {
  return {s.begin(), s.end()};
}

table sample() {
  table t;
  t.add(verb::get, "/taxii2/", "discovery");
  t.add(verb::get, "/{root}/", "api root");
  t.add(verb::get, "/{root}/status/{status}/", "status");
  t.add(verb::get, "/{root}/collections/{collection}/objects/", "get objects");
  t.add(verb::post, "/{root}/collections/{collection}/objects/", "add objects");
  t.add(verb::get, "/{root}/collections/{collection}/objects/{object}/", "get object");
  t.add(verb::delete_, "/{root}/collections/{collection}/objects/{object}/", "delete object");
  t.add(std::nullopt, "/cairn/v1/audit/{what}/", "audit");
  return t;
}

}  // namespace

TEST_CASE("route_table: a path and method find their route and its parameters") {
  const auto t = sample();
  auto m = t.find(verb::post, segs({"api1", "collections", "c-1", "objects"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "add objects");
  REQUIRE(m.params.size() == 2);
  CHECK(*m.params.find("root") == "api1");
  CHECK(*m.params.find("collection") == "c-1");
  CHECK(m.params.find("object") == nullptr);
  CHECK(m.allow.empty());

  m = t.find(verb::delete_, segs({"api1", "collections", "c-1", "objects", "indicator--1"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "delete object");
  CHECK(*m.params.find("object") == "indicator--1");

  m = t.find(verb::get, segs({"api1", "status", "s-9"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "status");
  CHECK(*m.params.find("status") == "s-9");
}

TEST_CASE("route_table: a known path with another method is 405 with the path's methods") {
  const auto t = sample();
  auto m = t.find(verb::put, segs({"api1", "collections", "c-1", "objects"}));
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allow == "GET, POST");
  REQUIRE(m.target);
  CHECK(*m.target == "get objects");  // the pattern's first route
  CHECK(*m.params.find("collection") == "c-1");

  m = t.find(verb::post, segs({"api1", "collections", "c-1", "objects", "x"}));
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allow == "GET, DELETE");

  m = t.find(verb::delete_, segs({"taxii2"}));
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allow == "GET");
}

TEST_CASE("route_table: a path of no route's shape is 404") {
  const auto t = sample();
  CHECK(t.find(verb::get, {}).result == outcome::not_found);
  CHECK(t.find(verb::get, segs({"api1", "collections"})).result == outcome::not_found);
  CHECK(t.find(verb::get, segs({"api1", "nothing", "here"})).result == outcome::not_found);
  auto m = t.find(verb::get, segs({"api1", "collections", "c", "objects", "o", "versions"}));
  CHECK(m.result == outcome::not_found);
  CHECK(m.target == nullptr);
  CHECK(m.params.size() == 0);
  CHECK(t.depth() == 5);
}

TEST_CASE("route_table: a literal segment beats a parameter, then the parameter is tried") {
  const auto t = sample();
  auto m = t.find(verb::get, segs({"taxii2"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "discovery");
  CHECK(m.params.size() == 0);

  // "/taxii2/" has no second segment: the API root named taxii2 it is.
  m = t.find(verb::get, segs({"taxii2", "status", "s"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "status");
  CHECK(*m.params.find("root") == "taxii2");
}

TEST_CASE("route_table: a route without a method takes every method") {
  const auto t = sample();
  for (verb v : {verb::get, verb::post, verb::delete_, verb::put}) {
    auto m = t.find(v, segs({"cairn", "v1", "audit", "records"}));
    REQUIRE(m.result == outcome::found);
    CHECK(*m.target == "audit");
    CHECK(*m.params.find("what") == "records");
  }
}

TEST_CASE("route_table: prefix_params names what the start of a path names") {
  table scopes;
  scopes.add(std::nullopt, "/{root}/", "root");
  scopes.add(std::nullopt, "/{root}/collections/{collection}/", "collection");

  auto p = scopes.prefix_params(segs({"api1", "collections", "c-1", "bogus", "x"}));
  REQUIRE(p.size() == 2);
  CHECK(*p.find("root") == "api1");
  CHECK(*p.find("collection") == "c-1");

  p = scopes.prefix_params(segs({"api1", "elsewhere", "c-1"}));
  REQUIRE(p.size() == 1);
  CHECK(*p.find("root") == "api1");

  CHECK(scopes.prefix_params({}).size() == 0);
}

TEST_CASE("route_table: patterns ignore empty segments, so trailing slashes do not matter") {
  table t;
  t.add(verb::get, "a/{b}", "no slashes");
  auto m = t.find(verb::get, segs({"a", "x"}));
  REQUIRE(m.result == outcome::found);
  CHECK(*m.target == "no slashes");
  CHECK(*m.params.find("b") == "x");
}

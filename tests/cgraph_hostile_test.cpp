// .cgraph files written to break the reader: deep nesting (nlohmann's copies and dumps recurse per
// level), oversized files, huge node and link counts, out-of-range versions, wrong types. Each must
// fail within 5 s with a GraphError naming the file and the place.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include "camgraph/cgraph_io.h"
#include "camgraph/error.h"
#include "test_nodes.h"
#include "hostile_file_support.h"

using namespace camgraph;
using camgraph::testing::test_registry;
namespace fs = std::filesystem;

using camgraph::testing::expect_has;

namespace {

std::string fast_error(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err = "(no error)";
  try {
    f();
  } catch (const GraphError& e) {
    err = e.what();
  } catch (const std::exception& e) {
    err = std::string("(not a GraphError) ") + e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << err;
  return err;
}

std::string text_error(const std::string& text) {
  return fast_error([&] { load_cgraph_text(text, test_registry(), "hostile.cgraph"); });
}

std::string graph_with(const std::string& nodes, const std::string& links = "[]", const std::string& version = "1") {
  return R"({"format": "camgraph", "version": )" + version + R"(, "graph": {"nodes": )" + nodes + R"(, "links": )" +
         links + "}}";
}

}  // namespace

TEST(CgraphHostile, NestingDepthIsLimitedBeforeParsing) {
  for (const char* open : {"[", "{\"k\": "}) {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += open;
    const std::string e = text_error(graph_with(R"([{"id": "a", "type": "test.number", "params": {"x": )" + deep));
    expect_has(e, {"hostile.cgraph", "line 1, column", "nested deeper than 128 levels"});
  }
  // A million levels, all on separate lines: the line is named.
  std::string deep = "{\n";
  for (int i = 0; i < 1000000; ++i) deep += "[\n";
  expect_has(text_error(deep), {"hostile.cgraph", "line 129, column 1", "nested deeper"});
  // Brackets inside strings (with escaped quotes) do not count.
  const std::string in_string = "\"" + std::string(1000, '{') + "\\\"" + std::string(1000, '[') + "\"";
  const GraphDocument d = load_cgraph_text(
      graph_with(R"([{"id": "a", "type": "test.number", "note": )" + in_string + "}]"), test_registry(), "ok.cgraph");
  EXPECT_EQ(d.graph.nodes.size(), 1u);
  // 128 levels are fine.
  std::string ok = R"({"format": "camgraph", "version": 1, "graph": {"nodes": []}, "ui": {"k": )";
  for (int i = 0; i < 124; ++i) ok += "[";
  for (int i = 0; i < 124; ++i) ok += "]";
  EXPECT_NO_THROW(load_cgraph_text(ok + "}}", test_registry()));
}

TEST(CgraphHostile, OversizedFileIsRefusedUnread) {
  const fs::path dir = fs::temp_directory_path() / ("cgraph-hostile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path big = dir / "big.cgraph";
  std::ofstream(big) << graph_with("[]");
  fs::resize_file(big, uint64_t(1) << 32);  // sparse: no disk used
  expect_has(fast_error([&] { load_cgraph(big, test_registry()); }), {"big.cgraph", "4294967296 bytes", "more than"});
  expect_has(fast_error([&] { load_cgraph(dir, test_registry()); }), {"cgraph-hostile", "not a regular file"});
  expect_has(fast_error([&] { load_cgraph(dir / "none.cgraph", test_registry()); }), {"none.cgraph", "not found"});
  fs::remove_all(dir);
}

TEST(CgraphHostile, HugeNodeAndLinkCounts) {
  std::string nodes = "[";
  for (int i = 0; i < 20000; ++i)
    nodes += std::string(i ? "," : "") + R"({"id":"n)" + std::to_string(i) + R"(","type":"test.number"})";
  expect_has(text_error(graph_with(nodes + "]")), {"hostile.cgraph", "/graph/nodes", "20000 nodes, more than"});
  std::string links = "[";
  for (int i = 0; i < 10001; ++i)
    links += std::string(i ? "," : "") + R"({"from":"a.value","to":"b)" + std::to_string(i) + R"(.a"})";
  expect_has(text_error(graph_with("[]", links + "]")), {"hostile.cgraph", "/graph/links", "10001 links"});
  // Under the bounds a graph of many distinct links loads (or fails validation) quickly.
  links = "[";
  for (int i = 0; i < 10000; ++i)
    links += std::string(i ? "," : "") + R"({"from":"a.value","to":"b)" + std::to_string(i) + R"(.a"})";
  expect_has(text_error(graph_with(R"([{"id":"a","type":"test.number"}])", links + "]")),
             {"hostile.cgraph", "link to unknown node"});
  // Duplicate links are found without comparing every pair.
  links = "[";
  for (int i = 0; i < 9999; ++i)
    links += std::string(i ? "," : "") + R"({"from":"a.value","to":"b)" + std::to_string(i) + R"(.a"})";
  links += R"(,{"from":"a.value","to":"b7.a"}])";
  expect_has(text_error(graph_with("[]", links)), {"hostile.cgraph", "/graph/links/9999", "same as /graph/links/7"});
}

TEST(CgraphHostile, VersionsOutOfRange) {
  for (const char* v : {"4294967297", "18446744073709551615", "9223372036854775807"})
    expect_has(text_error(graph_with("[]", "[]", v)), {"hostile.cgraph", "/version", "newer CamGraph", v});
  for (const char* v : {"0", "-9223372036854775808", "1.5", "\"1\"", "1e999"})
    expect_has(text_error(graph_with("[]", "[]", v)), {"hostile.cgraph"});
  for (const char* v : {"0", "4294967297", "-1", "1.0"})
    expect_has(text_error(graph_with(std::string(R"([{"id":"a","type":"test.number","version":)") + v + "}]")),
               {"hostile.cgraph", "/graph/nodes/0/version", "version must be an integer"});
}

TEST(CgraphHostile, WrongTypesEverywhere) {
  expect_has(text_error("[]"), {"hostile.cgraph", "a .cgraph file is a JSON object"});
  expect_has(text_error(""), {"hostile.cgraph", "invalid JSON"});
  expect_has(text_error(R"({"format": "camgraph", "version": 1, "graph": []})"), {"hostile.cgraph", "/graph"});
  expect_has(text_error(R"({"format": "camgraph", "version": 1, "graph": {"nodes": {}}})"), {"/graph/nodes"});
  expect_has(text_error(graph_with("[1]")), {"/graph/nodes/0", "a node is an object"});
  expect_has(text_error(graph_with(R"([{"id": 5, "type": "test.number"}])")), {"/graph/nodes/0/id"});
  expect_has(text_error(graph_with(R"([{"id": "a", "type": "test.number", "params": []}])")),
             {"/graph/nodes/0/params"});
  expect_has(text_error(graph_with(R"([{"id": "a", "type": "test.number", "bypass": 1}])")), {"/graph/nodes/0/bypass"});
  expect_has(text_error(graph_with("[]", R"([{"from": 1, "to": "a.b"}])")), {"/graph/links/0/from"});
  expect_has(text_error(graph_with("[]", R"({"from": "a.b"})")), {"/graph/links", "must be an array"});
  expect_has(text_error(graph_with("[]", R"([{"from": ".", "to": "a."}])")), {"/graph/links/0/from"});
  expect_has(text_error(graph_with(R"([{"id": "a", "type": "test.number", "params": {"value": "x"}}])")),
             {"hostile.cgraph", "'a'", "value"});
  expect_has(text_error(graph_with(R"([{"id": "a", "type": "test.number", "params": {"value": 1e308}}])")),
             {"hostile.cgraph", "'a'", "value"});
}

// The most nodes the bounds allow, a chain of 4000 nodes and 7997 links, loads and validates within
// the time limit (validation and ordering scan nodes and links).
TEST(CgraphHostile, LargestAllowedGraphLoadsQuickly) {
  std::string nodes = R"([{"id":"n0","type":"test.number"})", links = "[";
  for (int i = 1; i < 4000; ++i) {
    const std::string id = "n" + std::to_string(i), prev = "n" + std::to_string(i - 1);
    nodes += R"(,{"id":")" + id + R"(","type":"test.add"})";
    links += std::string(i > 1 ? "," : "") + R"({"from":")" + prev + R"(.value","to":")" + id + R"(.a"})";
    if (i > 1) links += R"(,{"from":")" + prev + R"(.value","to":")" + id + R"(.b"})";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const GraphDocument d = load_cgraph_text(graph_with(nodes + "]", links + "]"), test_registry());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(d.graph.nodes.size(), 4000u);
  EXPECT_EQ(d.graph.links.size(), 7997u);
}

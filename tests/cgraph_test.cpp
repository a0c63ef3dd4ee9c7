// The .cgraph format: round trips, unknown keys preserved, migrations, and one test per kind
// of bad file, each checking that the message says where and what.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "test_nodes.h"

using namespace camgraph;
using camgraph::testing::test_registry;
namespace fs = std::filesystem;

namespace {

const char* kGood = R"({
  "format": "camgraph",
  "version": 1,
  "producer": {"app": "camgraph-editor", "note": "unknown top-level key"},
  "graph": {
    "nodes": [
      {"id": "a", "type": "test.number", "version": 1, "params": {"value": 2}, "colour": "red"},
      {"id": "b", "type": "test.number", "params": {"value": 3}},
      {"id": "sum", "type": "test.add", "params": {"offset": 0.5}},
      {"id": "out", "type": "test.sink"}
    ],
    "links": [
      {"from": "a.value", "to": "sum.a"},
      {"from": "b.value", "to": "sum.b"},
      {"from": "sum.value", "to": "out.in"}
    ],
    "groups_future": [1, 2]
  },
  "ui": {"nodes": {"a": {"x": 10, "y": 20}}, "viewport": {"zoom": 1.5}}
})";

std::string load_error(const std::string& text) {
  try {
    load_cgraph_text(text, test_registry(), "test.cgraph");
  } catch (const GraphError& e) {
    return e.what();
  }
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST(Cgraph, LoadSaveLoadRoundTripIsEqual) {
  GraphDocument a = load_cgraph_text(kGood, test_registry());
  const std::string saved = to_cgraph_text(a);
  GraphDocument b = load_cgraph_text(saved, test_registry());
  EXPECT_TRUE(a.graph == b.graph);
  EXPECT_EQ(a.ui, b.ui);
  EXPECT_EQ(a.extra, b.extra);
  EXPECT_EQ(a.graph_extra, b.graph_extra);
  EXPECT_EQ(saved, to_cgraph_text(b));  // saving is stable
  EXPECT_EQ(graph_hash(a.graph), graph_hash(b.graph));
}

TEST(Cgraph, UnknownKeysArePreservedOnSave) {
  GraphDocument d = load_cgraph_text(kGood, test_registry());
  const json j = json::parse(to_cgraph_text(d));
  EXPECT_EQ(j["producer"]["app"], "camgraph-editor");
  EXPECT_EQ(j["graph"]["groups_future"], json({1, 2}));
  EXPECT_EQ(j["graph"]["nodes"][0]["colour"], "red");
  EXPECT_EQ(j["ui"]["viewport"]["zoom"], 1.5);
}

TEST(Cgraph, UiSectionDoesNotChangeTheGraphHash) {
  GraphDocument a = load_cgraph_text(kGood, test_registry());
  GraphDocument b = a;
  b.ui["nodes"]["a"]["x"] = 999;
  EXPECT_EQ(graph_hash(a.graph), graph_hash(b.graph));
  b.graph.node("a")->params["value"] = 7;
  EXPECT_NE(graph_hash(a.graph), graph_hash(b.graph));
}

TEST(Cgraph, ParametersThatCannotChangeOutputsLeaveTheGraphHashAlone) {
  GraphDocument a = load_cgraph_text(kGood, test_registry());
  GraphDocument b = a;
  b.graph.node("a")->params["preview_every"] = 3;  // test.number: outputs_unaffected
  EXPECT_EQ(graph_hash(a.graph, &test_registry()), graph_hash(b.graph, &test_registry()));
  b.graph.node("a")->params["value"] = 7;
  EXPECT_NE(graph_hash(a.graph, &test_registry()), graph_hash(b.graph, &test_registry()));
}

TEST(Cgraph, SaveIsAtomicAndReadable) {
  const fs::path dir = fs::temp_directory_path() / ("cgraph-save-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  GraphDocument d = load_cgraph_text(kGood, test_registry());
  save_cgraph(d, dir / "g.cgraph");
  GraphDocument back = load_cgraph(dir / "g.cgraph", test_registry());
  EXPECT_TRUE(back.graph == d.graph);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);  // no temporary left behind
  fs::remove_all(dir);
}

// ---- bad files ---------------------------------------------------------------------------

TEST(CgraphErrors, TruncatedJsonSaysLineAndColumn) {
  const std::string text = std::string(kGood).substr(0, 200);
  const std::string e = load_error(text);
  EXPECT_NE(e.find("test.cgraph"), std::string::npos) << e;
  EXPECT_NE(e.find("invalid JSON at line"), std::string::npos) << e;
}

TEST(CgraphErrors, UnknownFormat) {
  const std::string e = load_error(replace(kGood, "\"format\": \"camgraph\"", "\"format\": \"comfyui\""));
  EXPECT_NE(e.find("/format"), std::string::npos) << e;
  EXPECT_NE(e.find("not a CamGraph graph"), std::string::npos) << e;
}

TEST(CgraphErrors, FutureVersion) {
  const std::string e = load_error(
      replace(kGood, "\"version\": 1,\n  \"producer\"", "\"version\": 99,\n  \"producer\""));
  EXPECT_NE(e.find("newer CamGraph"), std::string::npos) << e;
  EXPECT_NE(e.find("99"), std::string::npos) << e;
}

TEST(CgraphErrors, UnknownNodeType) {
  const std::string e = load_error(replace(kGood, "\"type\": \"test.add\"", "\"type\": \"test.multiply\""));
  EXPECT_NE(e.find("node 'sum'"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown node type 'test.multiply'"), std::string::npos) << e;
  EXPECT_NE(e.find("/graph/nodes/2/type"), std::string::npos) << e;
}

TEST(CgraphErrors, DanglingLink) {
  const std::string e = load_error(
      replace(kGood, "{\"from\": \"b.value\", \"to\": \"sum.b\"}", "{\"from\": \"ghost.value\", \"to\": \"sum.b\"}"));
  EXPECT_NE(e.find("unknown node 'ghost'"), std::string::npos) << e;
  EXPECT_NE(e.find("/graph/links/1"), std::string::npos) << e;
}

TEST(CgraphErrors, DanglingPort) {
  const std::string e = load_error(replace(kGood, "\"to\": \"sum.b\"", "\"to\": \"sum.c\""));
  EXPECT_NE(e.find("has no input 'c'"), std::string::npos) << e;
}

TEST(CgraphErrors, DuplicateLink) {
  const std::string e = load_error(
      replace(kGood, "{\"from\": \"sum.value\", \"to\": \"out.in\"}",
              "{\"from\": \"sum.value\", \"to\": \"out.in\"}, {\"from\": \"sum.value\", \"to\": \"out.in\"}"));
  EXPECT_NE(e.find("duplicate link sum.value -> out.in"), std::string::npos) << e;
}

TEST(CgraphErrors, InputConnectedTwice) {
  const std::string e = load_error(
      replace(kGood, "{\"from\": \"b.value\", \"to\": \"sum.b\"}", "{\"from\": \"b.value\", \"to\": \"sum.a\"}"));
  EXPECT_NE(e.find("node 'sum', 'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("connected more than once"), std::string::npos) << e;
}

TEST(CgraphErrors, DuplicateNodeId) {
  const std::string e = load_error(replace(kGood, "{\"id\": \"b\"", "{\"id\": \"a\""));
  EXPECT_NE(e.find("duplicate node id"), std::string::npos) << e;
}

TEST(CgraphErrors, TypeMismatch) {
  std::string text = replace(kGood, "{\"id\": \"b\", \"type\": \"test.number\", \"params\": {\"value\": 3}}",
                             "{\"id\": \"b\", \"type\": \"test.image\"}");
  text = replace(text, "\"from\": \"b.value\"", "\"from\": \"b.image\"");
  const std::string e = load_error(text);
  EXPECT_NE(e.find("node 'sum', 'b'"), std::string::npos) << e;
  EXPECT_NE(e.find("type mismatch: b.image is Image but input 'b' takes Record"), std::string::npos) << e;
}

TEST(CgraphErrors, Cycle) {
  std::string text = replace(kGood, "{\"id\": \"b\", \"type\": \"test.number\", \"params\": {\"value\": 3}}",
                             "{\"id\": \"b\", \"type\": \"test.add\"}");
  text = replace(text, "{\"from\": \"sum.value\", \"to\": \"out.in\"}",
                 "{\"from\": \"sum.value\", \"to\": \"out.in\"}, {\"from\": \"sum.value\", \"to\": \"b.a\"}");
  const std::string e = load_error(text);
  EXPECT_NE(e.find("cycle: "), std::string::npos) << e;
  EXPECT_NE(e.find("sum"), std::string::npos) << e;
  EXPECT_NE(e.find("b"), std::string::npos) << e;
}

TEST(CgraphErrors, OutOfRangeValue) {
  const std::string e = load_error(replace(kGood, "\"params\": {\"value\": 3}", "\"params\": {\"value\": 5e12}"));
  EXPECT_NE(e.find("node 'b', 'value'"), std::string::npos) << e;
  EXPECT_NE(e.find("above the maximum"), std::string::npos) << e;
  EXPECT_NE(e.find("/graph/nodes/1/params/value"), std::string::npos) << e;
}

TEST(CgraphErrors, MissingRequiredInput) {
  const std::string e = load_error(replace(kGood, ",\n      {\"from\": \"sum.value\", \"to\": \"out.in\"}", ""));
  EXPECT_NE(e.find("node 'out', 'in'"), std::string::npos) << e;
  EXPECT_NE(e.find("required input"), std::string::npos) << e;
}

TEST(CgraphErrors, MalformedLinkString) {
  const std::string e = load_error(replace(kGood, "\"from\": \"a.value\"", "\"from\": \"avalue\""));
  EXPECT_NE(e.find("/graph/links/0/from"), std::string::npos) << e;
  EXPECT_NE(e.find("node.port"), std::string::npos) << e;
}

TEST(CgraphErrors, ValidateReportsEveryProblem) {
  std::string text = replace(kGood, "\"params\": {\"value\": 3}", "\"params\": {\"value\": \"x\"}");
  text = replace(text, "\"params\": {\"offset\": 0.5}", "\"params\": {\"offset\": 0.5, \"bogus\": 1}");
  GraphDocument d = parse_cgraph(text, "t");
  const auto problems = validate(d.graph, test_registry());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].node, "b");
  EXPECT_EQ(problems[1].param, "bogus");
}

// ---- migrations --------------------------------------------------------------------------

TEST(CgraphMigration, NodeParamsUpgradeThroughEveryVersion) {
  Registry reg;
  // v3 of a node whose parameter was renamed twice: size (v1) -> extent (v2) -> radius (v3).
  reg.add({.type = "test.renamed",
           .version = 3,
           .category = "Test",
           .outputs = {{"value", PortType::Record}},
           .params = {p_float("radius", 1, 0, 100, "radius")},
           .execute = [](NodeContext&) {},
           .migrate =
               [](json& params, int from) {
                 if (from == 1 && params.contains("size")) {
                   params["extent"] = params["size"];
                   params.erase("size");
                 }
                 if (from == 2 && params.contains("extent")) {
                   params["radius"] = params["extent"];
                   params.erase("extent");
                 }
               }});
  const std::string text = R"({"format": "camgraph", "version": 1, "graph": {"nodes": [
      {"id": "n", "type": "test.renamed", "version": 1, "params": {"size": 4}}], "links": []}})";
  GraphDocument d = load_cgraph_text(text, reg);
  EXPECT_EQ(d.graph.nodes[0].version, 3);
  EXPECT_EQ(d.graph.nodes[0].params, json({{"radius", 4}}));
  // A node saved by a newer build is refused.
  const std::string newer = replace(text, "\"version\": 1, \"params\"", "\"version\": 4, \"params\"");
  try {
    load_cgraph_text(newer, reg, "n.cgraph");
    FAIL() << "expected an error";
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("newer version of 'test.renamed'"), std::string::npos) << e.what();
  }
}

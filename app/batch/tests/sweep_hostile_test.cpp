// Sweep files and batch manifests written to break the readers: deep nesting, oversized files,
// number ranges that overflow, explosive products, wrong types. Each must fail within 5 s with an
// error naming the file and the place.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>

#include "camgraph/batch/manifest.h"
#include "camgraph/batch/sweep.h"
#include "camgraph/builtin_nodes.h"
#include "hostile_file_support.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph;
using namespace camgraph::batch;
using camgraph::testing::temp_dir;

using camgraph::testing::expect_has;
using camgraph::testing::fast_error;

namespace {

const fs::path kGraph = fs::path(CAMGRAPH_SOURCE_DIR) / "examples-graphs" / "checker-resize.cgraph";

// `text` as sweep.json next to a copy of checker-resize.cgraph; the error of loading it.
std::string sweep_error(const fs::path& dir, const std::string& text) {
  fs::copy_file(kGraph, dir / "graph.cgraph", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "sweep.json") << text;
  return fast_error([&] { load_sweep(dir / "sweep.json", builtin_registry()); });
}

std::string with_vary(const std::string& vary) { return R"({"graph": "graph.cgraph", "vary": )" + vary + "}"; }

}  // namespace

TEST(SweepHostile, DeepNestingAndOversizedFiles) {
  const fs::path dir = temp_dir("sweep-hostile-deep");
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += R"({"product": [)";
  expect_has(sweep_error(dir, with_vary(deep)), {"sweep.json", "line 1, column", "nested deeper than 128 levels"});
  // Nesting within the limit expands (each level is one product of one factor).
  std::string nested = R"({"param": "pattern.seed", "values": [1, 2]})";
  for (int i = 0; i < 40; ++i) nested = R"({"product": [)" + nested + "]}";
  fs::copy_file(kGraph, dir / "graph.cgraph", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "ok.json") << with_vary(nested);
  EXPECT_EQ(load_sweep(dir / "ok.json", builtin_registry()).items.size(), 2u);

  std::ofstream(dir / "big.json") << with_vary("[]");
  fs::resize_file(dir / "big.json", uint64_t(64) << 20);  // sparse
  expect_has(fast_error([&] { load_sweep(dir / "big.json", builtin_registry()); }),
             {"big.json", "67108864 bytes", "more than"});
  // The graph it names is read with the .cgraph reader's bounds.
  std::string deep_graph = "{\"format\": \"camgraph\", \"x\": ";
  for (int i = 0; i < 100000; ++i) deep_graph += "[";
  std::ofstream(dir / "deep.cgraph") << deep_graph;
  std::ofstream(dir / "s2.json") << R"({"graph": "deep.cgraph"})";
  expect_has(fast_error([&] { load_sweep(dir / "s2.json", builtin_registry()); }),
             {"s2.json", "/graph", "deep.cgraph", "nested deeper"});
  fs::remove_all(dir);
}

TEST(SweepHostile, NumbersThatOverflow) {
  const fs::path dir = temp_dir("sweep-hostile-num");
  auto axis = [](const std::string& body) { return with_vary(R"({"param": "pattern.seed", )" + body + "}"); };
  expect_has(sweep_error(dir, axis(R"("range": {"from": -1e308, "to": 1e308, "count": 3})")),
             {"sweep.json", "/vary/range", "too far apart"});
  expect_has(sweep_error(dir, axis(R"("range": {"from": -1e308, "to": 1e308, "step": 1})")),
             {"sweep.json", "/vary/range", "more than a million"});
  expect_has(sweep_error(dir, axis(R"("range": {"from": 0, "to": 1, "step": 1e-300})")),
             {"sweep.json", "/vary/range", "more than a million"});
  expect_has(sweep_error(dir, axis(R"("range": {"from": 0, "to": 18446744073709551615, "step": 9223372036854775807})")),
             {"sweep.json", "/vary/range", "2^53"});
  expect_has(sweep_error(dir, axis(R"("random": {"seed": 1, "count": 2, "uniform": [-1e308, 1e308]})")),
             {"sweep.json", "/vary/random/uniform", "low <= high"});
  expect_has(sweep_error(dir, axis(R"("random": {"seed": 1, "count": 2, "uniform": [0, 1e300], "decimals": 12})")),
             {"sweep.json", "/vary/random/uniform", "not a finite number"});
  expect_has(sweep_error(
                 dir, axis(R"("random": {"seed": 1, "count": 2, "int": [-9223372036854775808, 9223372036854775807]})")),
             {"sweep.json", "/vary/random/int", "2^53"});
  expect_has(sweep_error(dir, axis(R"("random": {"seed": 1, "count": 1e300, "int": [0, 1]})")),
             {"sweep.json", "/vary/random/count"});
  expect_has(sweep_error(dir, axis(R"("values": [1e999])")), {"sweep.json", "invalid JSON"});
  fs::remove_all(dir);
}

TEST(SweepHostile, ExplosiveProductsAndWrongTypes) {
  const fs::path dir = temp_dir("sweep-hostile-product");
  const std::string tenk = R"({"param": "pattern.seed", "range": {"from": 1, "to": 10000, "step": 1}})";
  const std::string tenk2 = R"({"param": "pattern.width", "range": {"from": 1, "to": 10000, "step": 1}})";
  expect_has(sweep_error(dir, with_vary("[" + tenk + "," + tenk2 + "]")),
             {"sweep.json", "/vary/product", "more than a million items"});
  expect_has(sweep_error(dir, "[]"), {"sweep.json", "a sweep file is a JSON object"});
  expect_has(sweep_error(dir, R"({"graph": 7})"), {"sweep.json", "/graph"});
  expect_has(sweep_error(dir, with_vary("7")), {"sweep.json", "/vary"});
  expect_has(sweep_error(dir, with_vary(R"({"param": 5, "values": [1]})")), {"sweep.json", "/vary/param"});
  expect_has(sweep_error(dir, with_vary(R"({"param": "pattern.seed", "values": {}})")), {"sweep.json", "/vary/values"});
  expect_has(sweep_error(dir, with_vary(R"({"zip": 1})")), {"sweep.json", "/vary/zip"});
  expect_has(sweep_error(dir, R"({"graph": "graph.cgraph", "set": {"pattern.seed": "x"}})"),
             {"sweep.json", "/set/pattern.seed"});
  expect_has(sweep_error(dir, R"({"graph": "graph.cgraph", "per_item": {"save.path": 5}})"),
             {"sweep.json", "/per_item/save.path"});
  fs::remove_all(dir);
}

TEST(ManifestHostile, BadManifestsNameTheFile) {
  const fs::path dir = temp_dir("manifest-hostile");
  const fs::path shard = manifest_shard_dir(dir) / "s.json";
  fs::create_directories(shard.parent_path());
  auto error_for = [&](const std::string& text) {
    std::ofstream(shard) << text;
    return fast_error([&] { load_manifest(dir); });
  };
  std::string deep = R"({"items": {"a": )";
  for (int i = 0; i < 100000; ++i) deep += "[";
  expect_has(error_for(deep), {"s.json: not a batch manifest", "nested deeper than 128 levels", "move it away"});
  expect_has(error_for("[]"), {"s.json: not a batch manifest", "JSON object"});
  expect_has(error_for(R"({"items": {"a": 5}})"), {"s.json", "/items/a", "must be an object"});
  expect_has(error_for(R"({"items": {"a": {"attempts": 1e300}}})"), {"s.json", "/items/a", "'attempts'"});
  expect_has(error_for(R"({"items": {"a": {"attempts": -1}}})"), {"s.json", "/items/a", "'attempts'"});
  expect_has(error_for(R"({"items": {"a": {"computed_nodes": 99999999999}}})"), {"s.json", "'computed_nodes'"});
  expect_has(error_for(R"({"items": {"a": {"state": 5}}})"), {"s.json", "not a batch manifest"});
  expect_has(error_for(R"({"sweep": [], "items": {}})"), {"s.json", "not a batch manifest"});
  std::ofstream(shard) << "{}";
  fs::resize_file(shard, (uint64_t(1) << 30) + 1);  // sparse
  expect_has(fast_error([&] { load_manifest(dir); }), {"s.json", "1073741825 bytes", "more than"});
  fs::remove_all(dir);
}

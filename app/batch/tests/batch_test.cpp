// Sweep expansion, item ids, manifests, GPU slot planning and Slurm scripts.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "camgraph/builtin_nodes.h"
#include "camgraph/batch/manifest.h"
#include "camgraph/batch/runner.h"
#include "camgraph/batch/slurm.h"
#include "camgraph/batch/sweep.h"
#include "camgraph/output_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph;
using namespace camgraph::batch;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;

namespace {

const fs::path kGraph = fs::path(CAMGRAPH_SOURCE_DIR) / "examples-graphs" / "checker-resize.cgraph";

// A sweep file next to a copy of checker-resize.cgraph.
fs::path sweep_file(const fs::path& dir, json sweep) {
  fs::copy_file(kGraph, dir / "graph.cgraph", fs::copy_options::overwrite_existing);
  sweep["graph"] = "graph.cgraph";
  const fs::path p = dir / "sweep.json";
  std::ofstream(p) << sweep.dump(1);
  return p;
}

std::vector<json> values_of(const std::vector<json>& objs, const std::string& key) {
  std::vector<json> out;
  for (const auto& o : objs) out.push_back(o.at(key));
  return out;
}

}  // namespace

TEST(SweepExpand, ListRangeAndCount) {
  auto l = expand_vary(json::parse(R"({"param": "a.x", "values": [1, "two", true]})"), "/vary");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], json({{"a.x", "two"}}));
  auto r = expand_vary(json::parse(R"({"param": "a.x", "range": {"from": 0, "to": 1, "step": 0.1}})"), "/vary");
  ASSERT_EQ(r.size(), 11u);  // inclusive end despite binary rounding
  EXPECT_DOUBLE_EQ(r[3]["a.x"].get<double>(), 0.3);
  EXPECT_EQ(r[3]["a.x"].dump(), "0.3");
  auto ri = expand_vary(json::parse(R"({"param": "a.n", "range": {"from": 10, "to": 2, "step": -4}})"), "/vary");
  EXPECT_EQ(values_of(ri, "a.n"), (std::vector<json>{10, 6, 2}));
  EXPECT_TRUE(ri[0]["a.n"].is_number_integer());
  auto c = expand_vary(json::parse(R"({"param": "a.x", "range": {"from": 0.2, "to": 0.8, "count": 4}})"), "/vary");
  EXPECT_EQ(values_of(c, "a.x"), (std::vector<json>{0.2, 0.4, 0.6, 0.8}));
}

TEST(SweepExpand, ProductOrderZipBundlesAndNesting) {
  const json v = json::parse(R"({"product": [
      {"param": "s.scene", "values": ["a", "b"]},
      {"zip": [{"param": "p.motion", "values": ["orbit", "pan", "dolly"]},
               {"param": "p.direction", "values": ["left", "right", "in"]}]},
      {"values": [{"p.intensity": 0.3, "p.frames": 9}, {"p.intensity": 0.6, "p.frames": 17}]}]})");
  auto items = expand_vary(v, "/vary");
  ASSERT_EQ(items.size(), 2u * 3u * 2u);
  // First factor slowest, last fastest.
  EXPECT_EQ(items[0],
            json::parse(R"({"s.scene":"a","p.motion":"orbit","p.direction":"left","p.intensity":0.3,"p.frames":9})"));
  EXPECT_EQ(items[1]["p.intensity"], 0.6);
  EXPECT_EQ(items[2]["p.motion"], "pan");
  EXPECT_EQ(items[2]["p.direction"], "right");
  EXPECT_EQ(items[6]["s.scene"], "b");
  // A list is a product; the shorthand object is a product of its lists.
  EXPECT_EQ(expand_vary(json::parse(R"([{"param":"a.x","values":[1,2]},{"param":"b.y","values":[3,4,5]}])"), "").size(),
            6u);
  EXPECT_EQ(expand_vary(json::parse(R"({"a.x": [1,2], "b.y": [3,4,5]})"), "").size(), 6u);
}

TEST(SweepExpand, RandomDrawsAreSeededAndInRange) {
  const json v = json::parse(R"({"param": "a.x", "random": {"seed": 42, "count": 200, "uniform": [0.25, 0.75]}})");
  auto a = expand_vary(v, ""), b = expand_vary(v, "");
  EXPECT_EQ(a, b);
  std::set<double> distinct;
  double lo = 1, hi = 0;
  for (const auto& o : a) {
    const double x = o["a.x"].get<double>();
    lo = std::min(lo, x), hi = std::max(hi, x);
    distinct.insert(x);
  }
  EXPECT_GE(lo, 0.25);
  EXPECT_LT(hi, 0.75);
  EXPECT_LT(lo, 0.3);  // 200 draws cover the interval
  EXPECT_GT(hi, 0.7);
  EXPECT_GT(distinct.size(), 190u);
  json v2 = v;
  v2["random"]["seed"] = 43;
  EXPECT_NE(expand_vary(v2, ""), a);
  auto ints = expand_vary(json::parse(R"({"param": "a.n", "random": {"seed": 1, "count": 300, "int": [3, 5]}})"), "");
  std::set<int64_t> seen;
  for (const auto& o : ints) seen.insert(o["a.n"].get<int64_t>());
  EXPECT_EQ(seen, (std::set<int64_t>{3, 4, 5}));
  auto ch = expand_vary(json::parse(R"({"param": "a.m", "random": {"seed": 9, "count": 50, "choice": ["x", "y"]}})"),
                        "");
  std::set<std::string> cs;
  for (const auto& o : ch) cs.insert(o["a.m"].get<std::string>());
  EXPECT_EQ(cs.size(), 2u);
  auto dec = expand_vary(
      json::parse(R"({"param": "a.x", "random": {"seed": 5, "count": 5, "uniform": [0, 1], "decimals": 2}})"), "");
  for (const auto& o : dec) EXPECT_LE(o["a.x"].dump().size(), 4u) << o.dump();
}

TEST(SweepExpand, ErrorsSayWhereAndWhat) {
  EXPECT_NE(error_of([] {
              expand_vary(json::parse(R"({"zip": [{"param":"a.x","values":[1,2]},{"param":"b.y","values":[1]}]})"),
                          "/vary");
            }).find("zip needs equal lengths: part 0 has 2 values, part 1 has 1"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              expand_vary(json::parse(R"({"param": "ax", "values": [1]})"), "/vary");
            }).find("'ax' is not NODE.PARAM"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              expand_vary(json::parse(R"({"param": "a.x", "range": {"from": 0, "to": 1, "step": -1}})"), "/vary");
            }).find("at /vary/range/step"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              expand_vary(json::parse(R"([{"param":"a.x","values":[1]},{"param":"a.x","values":[2]}])"), "/vary");
            }).find("'a.x' is set by two factors"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              expand_vary(json::parse(R"({"param": "a.x", "random": {"seed": 1, "count": 3}})"), "/vary");
            }).find("exactly one of \"uniform\""),
            std::string::npos);
}

TEST(Sweep, LoadsChecksAgainstTheGraphAndGivesStableIds) {
  const fs::path dir = temp_dir("batch-sweep");
  const json sw = json::parse(R"({"format": "camgraph-sweep", "version": 1, "name": "noise",
      "set": {"resize.width": 64},
      "vary": [{"param": "pattern.seed", "values": [1, 2, 3]}, {"param": "resize.height", "values": [32, 64]}],
      "per_item": {"save.path": "img/{pattern.seed}-{resize.height}-{id}.png"}})");
  const Sweep a = load_sweep(sweep_file(dir, sw), builtin_registry());
  ASSERT_EQ(a.items.size(), 6u);
  EXPECT_EQ(a.name, "noise");
  EXPECT_EQ(a.items[0].overrides, json::parse(R"({"resize.width": 64, "pattern.seed": 1, "resize.height": 32})"));
  EXPECT_EQ(a.items[0].outputs["save.path"], "img/1-32-" + a.items[0].id + ".png");
  EXPECT_TRUE(a.items_have_own_outputs(builtin_registry()));
  std::set<std::string> ids;
  for (const auto& it : a.items) {
    EXPECT_EQ(it.id.size(), 16u);
    EXPECT_EQ(it.id, item_id(a.graph_hash, it.overrides));
    ids.insert(it.id);
  }
  EXPECT_EQ(ids.size(), 6u);
  // Same sweep, same items; the graph's layout (ui) does not change ids; its params do.
  const Sweep b = load_sweep(dir / "sweep.json", builtin_registry());
  for (size_t i = 0; i < a.items.size(); ++i) EXPECT_EQ(a.items[i].id, b.items[i].id);
  json g = json::parse(read_file(dir / "graph.cgraph"));
  g["ui"]["nodes"]["pattern"]["x"] = 500;
  std::ofstream(dir / "graph.cgraph") << g.dump();
  EXPECT_EQ(load_sweep(dir / "sweep.json", builtin_registry()).items[0].id, a.items[0].id);
  g["graph"]["nodes"][0]["params"]["cell_size"] = 8;
  std::ofstream(dir / "graph.cgraph") << g.dump();
  EXPECT_NE(load_sweep(dir / "sweep.json", builtin_registry()).items[0].id, a.items[0].id);
  // Writing a value in another spelling (64 vs 64.0 for an int) gives the same id after normalising.
  json sw2 = sw;
  sw2["set"]["resize.width"] = 64.0;
  const Sweep c = load_sweep(sweep_file(dir, sw2), builtin_registry());
  EXPECT_EQ(c.items[0].overrides["resize.width"], 64);
}

TEST(Sweep, BadOverridesNameTheFileNodeAndParameter) {
  const fs::path dir = temp_dir("batch-sweep-bad");
  auto err = [&](const json& sw) { return error_of([&] { load_sweep(sweep_file(dir, sw), builtin_registry()); }); };
  EXPECT_NE(err(json::parse(R"({"vary": {"ghost.seed": [1]}})")).find("no node 'ghost' in graph.cgraph"),
            std::string::npos);
  EXPECT_NE(err(json::parse(R"({"vary": {"pattern.sed": [1]}})"))
                .find("node 'pattern' (image.pattern) has no parameter 'sed'"),
            std::string::npos);
  const std::string range = err(json::parse(R"({"vary": {"resize.width": [0]}})"));
  EXPECT_NE(range.find("sweep.json"), std::string::npos) << range;
  EXPECT_NE(range.find("below the minimum"), std::string::npos) << range;
  EXPECT_NE(err(json::parse(R"({"vary": {"pattern.seed": [1]}, "sets": {}})")).find("unknown key 'sets'"),
            std::string::npos);
  EXPECT_NE(err(json::parse(R"({"vary": {"pattern.seed": [1]}, "per_item": {"save.path": "{nope}.png"}})"))
                .find("unknown field {nope}"),
            std::string::npos);
  EXPECT_NE(err(json::parse(R"({"set": {"pattern.seed": 1}, "vary": {"pattern.seed": [2]}})")).find("both fixed"),
            std::string::npos);
  std::ofstream(dir / "broken.json") << "{\"graph\": ";
  EXPECT_NE(error_of([&] { load_sweep(dir / "broken.json", builtin_registry()); }).find("invalid JSON"),
            std::string::npos);
}

TEST(Sweep, DuplicateVariantsAreDroppedAndCounted) {
  const fs::path dir = temp_dir("batch-sweep-dup");
  const Sweep s = load_sweep(sweep_file(dir, json::parse(R"({"vary": {"pattern.seed": [1, 2, 1, 3, 2]}})")),
                             builtin_registry());
  EXPECT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(s.items[2].index, 2u);
  EXPECT_EQ(s.items[2].overrides["pattern.seed"], 3);
  EXPECT_FALSE(s.items_have_own_outputs(builtin_registry()));
}

TEST(Manifest, MergeKeepsDoneAndTheNewestOtherwise) {
  Manifest a, b;
  a.items["x"].state = ItemState::Failed, a.items["x"].updated = 10, a.items["x"].attempts = 2;
  b.items["x"].state = ItemState::Done, b.items["x"].updated = 5, b.items["x"].attempts = 1;
  a.items["y"].state = ItemState::Running, a.items["y"].updated = 10;
  b.items["y"].state = ItemState::Failed, b.items["y"].updated = 20, b.items["y"].error = "boom";
  b.items["z"].state = ItemState::Pending;
  a.merge(b);
  EXPECT_EQ(a.items["x"].state, ItemState::Done);
  EXPECT_EQ(a.items["x"].attempts, 2);
  EXPECT_EQ(a.items["y"].state, ItemState::Failed);
  EXPECT_EQ(a.items["y"].error, "boom");
  EXPECT_EQ(a.items.size(), 3u);

  const fs::path dir = temp_dir("batch-manifest");
  Manifest main;
  main.items["x"].state = ItemState::Failed;
  save_manifest_file(manifest_path(dir), main);
  Manifest shard;
  shard.items["x"].state = ItemState::Done;
  shard.items["w"].state = ItemState::Done;
  save_manifest_file(manifest_shard_dir(dir) / "slurm-1_0.json", shard);
  const Manifest m = fold_manifest_shards(dir);
  EXPECT_EQ(m.count(ItemState::Done), 2u);
  EXPECT_EQ(Manifest::from_json(json::parse(read_file(manifest_path(dir)))).count(ItemState::Done), 2u);
  std::ofstream(manifest_shard_dir(dir) / "bad.json") << "{";
  EXPECT_NE(error_of([&] { load_manifest(dir); }).find("bad.json: not a batch manifest"), std::string::npos);
}

TEST(Slots, GpuMemoryCapsJobsAndSpreadsSlots) {
  const auto gpus = parse_nvidia_smi("0, 70000, 81559, NVIDIA H100\n1, 30000, 81559, NVIDIA H100\n");
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[1].free_mib, 30000);
  Slots s = plan_slots(0, "auto", 0, gpus);
  EXPECT_EQ(s.jobs, 2);
  EXPECT_EQ(s.gpu_of_slot, (std::vector<int>{0, 1}));
  s = plan_slots(16, "auto", 20000, gpus);  // fits 3 + 1
  EXPECT_EQ(s.jobs, 4);
  EXPECT_EQ(std::count(s.gpu_of_slot.begin(), s.gpu_of_slot.end(), 0), 3);
  EXPECT_NE(s.reason.find("lowered to 4"), std::string::npos) << s.reason;
  s = plan_slots(0, "cpu", 20000, gpus);
  EXPECT_EQ(s.jobs, 1);
  EXPECT_TRUE(s.gpu_of_slot.empty());
  EXPECT_EQ(plan_slots(3, "auto", 0, {}).jobs, 3);
  EXPECT_EQ(plan_slots(0, "auto", 90000, gpus).jobs, 1);
}

TEST(Slurm, SlicesCoverEveryItemOnce) {
  for (size_t n : {1u, 7u, 100u, 1001u})
    for (size_t t : {1u, 3u, 7u, 64u}) {
      if (t > n) continue;
      size_t covered = 0, prev_end = 0;
      for (size_t i = 0; i < t; ++i) {
        auto [b, e] = task_slice(n, i, t);
        EXPECT_EQ(b, prev_end);
        EXPECT_GE(e - b, n / t);
        EXPECT_LE(e - b, n / t + 1);
        covered += e - b;
        prev_end = e;
      }
      EXPECT_EQ(covered, n);
    }
}

TEST(Slurm, ScriptNamesTheArrayLimitsAndTaskCommand) {
  const fs::path dir = temp_dir("batch-slurm-script");
  const Sweep s = load_sweep(sweep_file(dir, json::parse(R"({"name": "n", "vary": {"pattern.seed": [1,2,3,4,5]}})")),
                             builtin_registry());
  SlurmOptions o;
  o.partition = "gpu";
  o.gpus_per_task = 1;
  o.array_parallel = 2;
  o.items_per_task = 2;
  o.time = "01:00:00";
  o.cache_dir = dir / "cache";
  std::vector<std::string> ids;
  for (const auto& it : s.items) ids.push_back(it.id);
  const SlurmJob job = write_slurm_job(s, ids, "/opt/camgraph/bin/camgraph-cli", dir / "out", dir / "state", o);
  EXPECT_EQ(job.tasks, 3u);
  const std::string text = read_file(job.script);
  EXPECT_NE(text.find("#SBATCH --array=0-2%2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#SBATCH --partition=gpu\n"), std::string::npos);
  EXPECT_NE(text.find("#SBATCH --gpus-per-task=1\n"), std::string::npos);
  EXPECT_NE(text.find("--task-count 3"), std::string::npos);
  EXPECT_NE(text.find("--shard \"slurm-${SLURM_ARRAY_JOB_ID:-0}_${task}\""), std::string::npos);
  EXPECT_NE(text.find("--cache-dir '" + (dir / "cache").string() + "'"), std::string::npos);
  EXPECT_EQ(task_items(job.items_file, 0, 3), (std::vector<std::string>{ids[0]}));
  EXPECT_EQ(task_items(job.items_file, 2, 3), (std::vector<std::string>{ids[3], ids[4]}));
  // A second submission gets its own folder; nothing to submit is an error that says so.
  EXPECT_NE(write_slurm_job(s, {ids[1]}, "cli", dir / "out", dir / "state", o).dir, job.dir);
  EXPECT_NE(
      error_of([&] { write_slurm_job(s, {}, "cli", dir / "out", dir / "state", o); }).find("every item of n is done"),
      std::string::npos);
  EXPECT_EQ(shell_quote("a'b"), "'a'\\''b'");
}

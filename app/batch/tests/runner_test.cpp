// The local runner with real child processes (camgraph-cli run): every item done, resume without
// redoing, retries with the failing node named, crash isolation, cancellation and the shared cache.
#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <fstream>
#include <set>

#include "camgraph/builtin_nodes.h"
#include "camgraph/batch/manifest.h"
#include "camgraph/batch/runner.h"
#include "camgraph/batch/sweep.h"
#include "camgraph/output_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph;
using namespace camgraph::batch;
using camgraph::testing::temp_dir;

namespace {

const fs::path kGraph = fs::path(CAMGRAPH_SOURCE_DIR) / "examples-graphs" / "checker-resize.cgraph";

Sweep make_sweep(const fs::path& dir, const json& sw_in) {
  fs::copy_file(kGraph, dir / "graph.cgraph", fs::copy_options::overwrite_existing);
  json sw = sw_in;
  sw["graph"] = "graph.cgraph";
  std::ofstream(dir / "sweep.json") << sw.dump(1);
  return load_sweep(dir / "sweep.json", builtin_registry());
}

RunnerOptions options(const fs::path& dir, int jobs) {
  RunnerOptions o;
  o.cli = CAMGRAPH_CLI;
  o.out_dir = dir / "out";
  o.cache_dir = dir / "out" / ".camgraph-batch" / "cache";
  o.jobs = jobs;
  o.device = "cpu";
  return o;
}

}  // namespace

TEST(Runner, RunsEveryItemAndResumesWithoutRedoingDoneItems) {
  const fs::path dir = temp_dir("batch-run");
  const Sweep s = make_sweep(dir, json::parse(R"({"name": "noise", "vary": {"pattern.seed": [1, 2, 3, 4]},
                                                 "per_item": {"save.path": "img/{pattern.seed}-{id}.png"}})"));
  RunnerOptions o = options(dir, 2);
  const RunSummary a = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(a.exit_code(), 0) << a.to_text();
  EXPECT_EQ(a.done, 4u);
  EXPECT_EQ(a.jobs, 2);
  std::set<std::string> hashes;
  for (const auto& it : s.items) {
    const fs::path png = o.out_dir / it.outputs["save.path"].get<std::string>();
    ASSERT_TRUE(fs::exists(png)) << png;
    hashes.insert(hash_file_hex(png));
  }
  EXPECT_EQ(hashes.size(), 4u);  // four seeds, four different images
  const Manifest m = load_manifest(default_state_dir(o.out_dir, s));
  EXPECT_EQ(m.count(ItemState::Done), 4u);
  for (const auto& [id, r] : m.items) {
    EXPECT_EQ(r.attempts, 1);
    EXPECT_TRUE(fs::exists(default_state_dir(o.out_dir, s) / r.log));
  }
  const auto t0 = fs::last_write_time(o.out_dir / s.items[0].outputs["save.path"].get<std::string>());
  const RunSummary b = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(b.done, 0u);
  EXPECT_EQ(b.skipped, 4u);
  EXPECT_EQ(fs::last_write_time(o.out_dir / s.items[0].outputs["save.path"].get<std::string>()), t0);
}

TEST(Runner, ItemsWithoutOutputTemplatesGetTheirOwnFolders) {
  const fs::path dir = temp_dir("batch-run-folders");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"resize.width": [16, 32]}})"));
  RunnerOptions o = options(dir, 1);
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  for (const auto& it : s.items)
    EXPECT_TRUE(fs::exists(o.out_dir / "items" / it.id / "checker" / "noise.png")) << it.id;
}

TEST(Runner, ChildrenCarryTheCacheAndItsCap) {
  const fs::path dir = temp_dir("batch-run-cap");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"resize.width": [16, 32]}})"));
  RunnerOptions o = options(dir, 1);
  auto has = [](const std::vector<std::string>& a, const std::string& flag, const std::string& value) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag && a[i + 1] == value) return true;
    return false;
  };
  const auto plain = child_command(s, s.items[0], o, builtin_registry());
  EXPECT_TRUE(has(plain, "--cache-dir", o.cache_dir->string()));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "--cache-max-gb"), 0);  // the CLI's default cap
  o.cache_max_gb = 2.5;
  EXPECT_TRUE(has(child_command(s, s.items[0], o, builtin_registry()), "--cache-max-gb", "2.5"));
}

TEST(Runner, FailuresAreRetriedNameTheNodeAndARerunFinishesThem) {
  const fs::path dir = temp_dir("batch-run-fail");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"pattern.seed": [1, 2]},
                                                 "per_item": {"save.path": "blocked/{id}.png"}})"));
  RunnerOptions o = options(dir, 2);
  o.retries = 2;
  fs::create_directories(o.out_dir);
  std::ofstream(o.out_dir / "blocked") << "a file where the output folder should be";
  const RunSummary a = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(a.exit_code(), 1);
  ASSERT_EQ(a.failed, 2u) << a.to_text();
  for (const auto& [id, r] : a.failures) {
    EXPECT_EQ(r.attempts, 3);  // 1 + 2 retries
    EXPECT_EQ(r.node, "save") << r.error;
    EXPECT_FALSE(r.error.empty());
  }
  EXPECT_NE(a.to_text().find("node 'save'"), std::string::npos) << a.to_text();
  fs::remove(o.out_dir / "blocked");
  const RunSummary b = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(b.exit_code(), 0) << b.to_text();
  EXPECT_EQ(b.done, 2u);
  EXPECT_EQ(load_manifest(default_state_dir(o.out_dir, s)).items.at(s.items[0].id).attempts, 4);
}

TEST(Runner, ACrashingChildIsRecordedAndTheRunnerGoesOn) {
  const fs::path dir = temp_dir("batch-run-crash");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"pattern.seed": [1, 2, 3]}})"));
  RunnerOptions o = options(dir, 2);
  o.retries = 0;
  o.cli = dir / "crashing-cli.sh";
  std::ofstream(o.cli) << "#!/bin/sh\necho 'about to crash'\nkill -SEGV $$\n";
  fs::permissions(o.cli, fs::perms::owner_all);
  const RunSummary a = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(a.failed, 3u);
  for (const auto& [id, r] : a.failures)
    EXPECT_NE(r.error.find("crashed (killed by signal 11"), std::string::npos) << r.error;
}

TEST(Runner, InterruptedAndCancelledRunsResume) {
  const fs::path dir = temp_dir("batch-run-resume");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"pattern.seed": [1, 2, 3, 4, 5, 6]},
                                                 "per_item": {"save.path": "img/{id}.png"}})"));
  RunnerOptions o = options(dir, 2);
  // A crash left an item "running" and one done.
  Manifest before;
  before.items[s.items[0].id].state = ItemState::Running;
  before.items[s.items[1].id].state = ItemState::Done;
  save_manifest_file(manifest_path(default_state_dir(o.out_dir, s)), before);
  // Cancel (as Ctrl-C does) as soon as the second item starts.
  std::atomic<int> started{0};
  o.log = [&](const std::string& line) {
    if (line.find(" started ") != std::string::npos) started++;
  };
  o.cancel_level = [&] { return started >= 2 ? 1 : 0; };
  const RunSummary a = run_sweep(s, o, builtin_registry());
  EXPECT_TRUE(a.cancelled);
  EXPECT_EQ(a.exit_code(), 130);
  EXPECT_EQ(a.skipped, 1u);
  EXPECT_EQ(a.failed, 0u) << a.to_text();
  EXPECT_GE(a.pending, 3u) << a.to_text();
  Manifest m = load_manifest(default_state_dir(o.out_dir, s));
  EXPECT_EQ(m.count(ItemState::Running), 0u);
  EXPECT_EQ(m.count(ItemState::Failed), 0u);
  // No temp files left in the output folder.
  if (fs::exists(o.out_dir / "img")) {
    for (const auto& e : fs::recursive_directory_iterator(o.out_dir / "img")) {
      EXPECT_EQ(e.path().extension(), ".png") << e.path();
    }
  }
  o.cancel_level = nullptr;
  const RunSummary b = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(b.exit_code(), 0) << b.to_text();
  EXPECT_EQ(b.done + b.skipped, 6u);
  EXPECT_EQ(b.done, a.pending);
  for (const auto& it : s.items) {
    if (it.index != 1) {
      EXPECT_TRUE(fs::exists(o.out_dir / "img" / (it.id + ".png"))) << it.id;
    }
  }
}

TEST(Runner, ItemsSharingUpstreamResultsTakeThemFromTheSharedCache) {
  const fs::path dir = temp_dir("batch-run-cache");
  // Every item shares `pattern`; only resize/save differ.
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"resize.width": [16, 24, 32, 40]},
                                                 "per_item": {"save.path": "img/{id}.png"}})"));
  RunnerOptions o = options(dir, 2);
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  Manifest m = load_manifest(default_state_dir(o.out_dir, s));
  int cached = 0, computed = 0;
  for (const auto& [id, r] : m.items) cached += r.cached_nodes, computed += r.computed_nodes;
  EXPECT_EQ(cached, 3);            // pattern computed once, three items took it from the cache
  EXPECT_EQ(computed, 4 * 3 - 3);  // pattern once + resize and save per item
  // Without the cache every item computes everything.
  const fs::path dir2 = temp_dir("batch-run-nocache");
  const Sweep s2 = make_sweep(dir2, json::parse(R"({"vary": {"resize.width": [16, 24, 32, 40]},
                                                  "per_item": {"save.path": "img/{id}.png"}})"));
  RunnerOptions o2 = options(dir2, 2);
  o2.cache_dir.reset();
  ASSERT_EQ(run_sweep(s2, o2, builtin_registry()).exit_code(), 0);
  int cached2 = 0;
  for (const auto& [id, r] : load_manifest(default_state_dir(o2.out_dir, s2)).items) cached2 += r.cached_nodes;
  EXPECT_EQ(cached2, 0);
}

TEST(Runner, ASecondRunnerOnTheSameStateIsRefused) {
  const fs::path dir = temp_dir("batch-run-lock");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"pattern.seed": [1]}})"));
  RunnerOptions o = options(dir, 1);
  std::atomic<bool> checked{false};
  std::string second_error;
  o.log = [&](const std::string& line) {
    if (checked || line.find(" started ") == std::string::npos) return;
    checked = true;
    second_error = camgraph::testing::error_of([&] {
      RunnerOptions o2 = options(dir, 1);
      run_sweep(s, o2, builtin_registry());
    });
  };
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  EXPECT_NE(second_error.find("another batch run is using"), std::string::npos) << second_error;
}

TEST(Runner, LeadersOfOtherScenesStartBeforeFollowers) {
  const fs::path dir = temp_dir("batch-run-leaders");
  // Two "scenes" (pattern seeds) x three sizes; scenes vary slowest.
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": [{"param": "pattern.seed", "values": [1, 2]},
                                                           {"param": "resize.width", "values": [16, 24, 32]}],
                                                 "per_item": {"save.path": "img/{id}.png"}})"));
  RunnerOptions o = options(dir, 2);
  std::vector<std::string> starts;
  o.log = [&](const std::string& line) {
    if (line.find(" started ") != std::string::npos) starts.push_back(line.substr(0, line.find(']') + 1));
  };
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  ASSERT_EQ(starts.size(), 6u);
  // Item 0 computes what everything shares; then the leader of scene 2 (item 3) starts before
  // scene 1's followers, so its pattern is ready when they are done.
  EXPECT_EQ(starts[0], "[0]");
  EXPECT_EQ(starts[1], "[3]");
  int cached = 0;
  for (const auto& [id, r] : load_manifest(default_state_dir(o.out_dir, s)).items) cached += r.cached_nodes;
  EXPECT_EQ(cached, 4);  // each pattern computed once, taken from the cache by the other two items of its scene
}

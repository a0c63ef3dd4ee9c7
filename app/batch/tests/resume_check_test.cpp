// Resuming a batch checks what done items wrote (docs/reliability.md, "Batches"): a missing,
// truncated or changed output, or a metadata line gone from its dataset, runs the item again with a
// line naming the item and the file; intact items are not touched. The runner's event stream, the
// temporary files of killed writers, and a disk-full child through the real CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "../src/item_outputs.h"
#include "camgraph/batch/manifest.h"
#include "camgraph/batch/runner.h"
#include "camgraph/batch/sweep.h"
#include "camgraph/builtin_nodes.h"
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

RunnerOptions options(const fs::path& dir, std::vector<std::string>* lines) {
  RunnerOptions o;
  o.cli = CAMGRAPH_CLI;
  o.out_dir = dir / "out";
  o.cache_dir = dir / "out" / ".camgraph-batch" / "cache";
  o.jobs = 2;
  o.device = "cpu";
  o.log = [lines](const std::string& l) { lines->push_back(l); };
  return o;
}

std::string find_line(const std::vector<std::string>& lines, const std::string& a, const std::string& b) {
  for (const auto& l : lines)
    if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return l;
  return "";
}

}  // namespace

TEST(ResumeCheck, DamagedOrMissingOutputsRunTheirItemAgainSayingSo) {
  const fs::path dir = temp_dir("batch-resume-check");
  const Sweep s = make_sweep(dir, json::parse(R"({"name": "check", "vary": {"pattern.seed": [1, 2, 3, 4]},
                                                 "per_item": {"save.path": "img/{id}.png"}})"));
  std::vector<std::string> lines;
  RunnerOptions o = options(dir, &lines);
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  const Manifest m = load_manifest(default_state_dir(o.out_dir, s));
  for (const auto& it : s.items) {
    const json& outs = m.items.at(it.id).outputs;
    ASSERT_EQ(outs.size(), 1u) << outs.dump();
    EXPECT_EQ(outs[0]["path"], "img/" + it.id + ".png");
    EXPECT_EQ(outs[0]["size"], fs::file_size(o.out_dir / "img" / (it.id + ".png")));
    EXPECT_EQ(outs[0]["xxh3"], hash_file_hex(o.out_dir / "img" / (it.id + ".png")));
  }
  auto png = [&](size_t i) { return o.out_dir / "img" / (s.items[i].id + ".png"); };
  const std::string intact = read_file(png(3));
  fs::remove(png(0));                                  // missing
  fs::resize_file(png(1), fs::file_size(png(1)) / 2);  // truncated
  {
    std::string bytes = read_file(png(2));  // same size, one byte changed
    bytes[bytes.size() / 2] ^= 0x5a;
    std::ofstream(png(2), std::ios::binary) << bytes;
  }
  // gather (Slurm) sees the same damage: those items count as missing, and a resubmission runs them.
  const GatherReport g = gather(s, o.out_dir, default_state_dir(o.out_dir, s));
  EXPECT_EQ(g.damaged.size(), 3u);
  EXPECT_EQ(g.missing.size(), 3u);
  EXPECT_EQ(g.done, std::vector<std::string>{s.items[3].id});
  EXPECT_EQ(g.damaged.at(s.items[0].id), "img/" + s.items[0].id + ".png is missing");
  lines.clear();
  const RunSummary b = run_sweep(s, o, builtin_registry());
  EXPECT_EQ(b.exit_code(), 0) << b.to_text();
  EXPECT_EQ(b.done, 3u);
  EXPECT_EQ(b.skipped, 1u);
  EXPECT_NE(find_line(lines, s.items[0].id, "img/" + s.items[0].id + ".png is missing; running the item again"), "");
  EXPECT_NE(find_line(lines, s.items[1].id, "bytes, " + std::to_string(fs::file_size(png(1))) + " recorded"), "");
  EXPECT_NE(find_line(lines, s.items[2].id, "changed since it was written"), "");
  EXPECT_EQ(find_line(lines, s.items[3].id, "running the item again"), "");
  EXPECT_EQ(read_file(png(3)), intact);
  // The damaged versions were moved aside, not lost.
  const fs::path damaged = default_state_dir(o.out_dir, s) / "damaged";
  EXPECT_TRUE(fs::exists(damaged / s.items[1].id / (s.items[1].id + ".png")));
  EXPECT_TRUE(fs::exists(damaged / s.items[2].id / (s.items[2].id + ".png")));
  EXPECT_NE(find_line(lines, s.items[1].id, "damaged file(s) moved to .camgraph-batch/check/damaged/"), "");
  const Manifest after = load_manifest(default_state_dir(o.out_dir, s));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hash_file_hex(png(i)), after.items.at(s.items[i].id).outputs[0]["xxh3"]);
    EXPECT_EQ(after.items.at(s.items[i].id).attempts, 2);
  }
}

TEST(ResumeCheck, AMetadataLineGoneFromItsDatasetIsDamageToo) {
  const fs::path ds = temp_dir("batch-resume-lines");
  fs::create_directories(ds / "metadata.d");
  std::ofstream(ds / "metadata.d" / "w1.jsonl") << "{\"file_name\": \"videos/a.mp4\"}\n";
  std::ofstream(ds / "metadata.jsonl") << "{\"file_name\": \"videos/b.mp4\"}\nnot json\n";
  camgraph::batch::detail::OutputChecker check(ds.parent_path());
  const std::string folder = ds.filename().string();
  auto line = [&](const std::string& file, const std::string& key) {
    return json::array({{{"path", folder + "/" + file}, {"line_key", key}}});
  };
  EXPECT_EQ(check.check(line("metadata.d/w1.jsonl", "videos/a.mp4")), "");
  EXPECT_EQ(check.check(line("metadata.d/w9.jsonl", "videos/b.mp4")), "");  // merged into metadata.jsonl since
  const std::string gone = check.check(line("metadata.jsonl", "videos/c.mp4"));
  EXPECT_EQ(gone, folder + "/metadata.jsonl: the line of videos/c.mp4 is missing");
}

TEST(ResumeCheck, TheEventStreamCarriesItemsAndTheirChildrensEvents) {
  const fs::path dir = temp_dir("batch-resume-events");
  const Sweep s = make_sweep(dir, json::parse(R"({"vary": {"pattern.seed": [1, 2]},
                                                 "per_item": {"save.path": "img/{id}.png"}})"));
  std::vector<std::string> lines;
  RunnerOptions o = options(dir, &lines);
  // A temporary file of a writer killed in an earlier run.
  fs::create_directories(o.out_dir / "img");
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const std::string host = parse_temp_name(temp_path_for_file("x").filename().string())->host;
  const fs::path stale = o.out_dir / "img" / (".x.png.tmp-" + std::to_string(gone) + "-" + host + "-12345678");
  std::ofstream(stale) << "half";
  std::vector<json> events;
  o.event = [&](const json& e) { events.push_back(e); };
  ASSERT_EQ(run_sweep(s, o, builtin_registry()).exit_code(), 0);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_NE(find_line(lines, "removed 1 temporary file(s) of writers killed earlier", "img/.x.png.tmp-"), "");
  std::map<std::string, std::vector<std::string>> per_item;
  std::vector<std::string> run_events;
  for (const auto& e : events) {
    if (e.contains("item")) per_item[e["item"]].push_back(e["event"]);
    else run_events.push_back(e["event"]);
    if (e["event"] == "item_started") {
      EXPECT_GT(e["pid"].get<int>(), 0);
      EXPECT_EQ(e["pgid"], e["pid"]);
    }
    if (e["event"] == "item_done") {
      EXPECT_EQ(e["outputs"].size(), 1u) << e.dump();
    }
  }
  EXPECT_EQ(run_events.front(), "stale_temps_removed");
  EXPECT_EQ(run_events.back(), "index_done");
  ASSERT_EQ(per_item.size(), 2u);
  for (const auto& [id, kinds] : per_item) {
    SCOPED_TRACE(id);
    EXPECT_EQ(kinds.front(), "item_started");
    EXPECT_EQ(kinds.back(), "item_done");
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "node_started"), kinds.end());  // the child's own events
  }
}

TEST(ResumeCheck, ADiskFullChildFailsNamingTheFileAndKeepsThePreviousOutput) {
  const fs::path dir = temp_dir("batch-resume-enospc");
  const std::string cli = CAMGRAPH_CLI, out = (dir / "out").string();
  const std::string base = cli + " run " + kGraph.string() + " --out " + out + " --device cpu --quiet";
  ASSERT_EQ(std::system((base + " > /dev/null 2>&1").c_str()), 0);
  const fs::path png = dir / "out" / "checker" / "noise.png";
  const std::string first = read_file(png);
  for (const char* fault : {"write:ENOSPC", "rename:EROFS@1", "fsync:EIO@2"}) {
    SCOPED_TRACE(fault);
    const fs::path err = dir / "stderr.txt";
    const int rc = std::system(
        ("CAMGRAPH_FAULT=" + std::string(fault) + " " + base + " --set pattern.seed=99 > /dev/null 2> " + err.string())
            .c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << rc;
    const std::string msg = read_file(err);
    EXPECT_NE(msg.find("node 'save'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(png.string()), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("No space left on device") != std::string::npos ||
                msg.find("Read-only file system") != std::string::npos ||
                msg.find("Input/output error") != std::string::npos)
        << msg;
    EXPECT_EQ(read_file(png), first);
  }
  for (const auto& e : fs::recursive_directory_iterator(dir / "out"))
    EXPECT_FALSE(parse_temp_name(e.path().filename().string())) << e.path();
}

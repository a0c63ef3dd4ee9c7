// camgraph-cli as a user runs it: exit codes and messages.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out, err;
};

fs::path work_dir() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("camgraph-cli-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result cli(const std::string& args) {
  const fs::path out = work_dir() / "stdout.txt", err = work_dir() / "stderr.txt";
  const std::string cmd = std::string("'") + CAMGRAPH_CLI + "' " + args + " >'" + out.string() + "' 2>'" +
                          err.string() + "'";
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), slurp(out), slurp(err)};
}

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = work_dir() / name;
  std::ofstream(p) << text;
  return p;
}

const std::string kExample = std::string(CAMGRAPH_SOURCE_DIR) + "/examples-graphs/checker-resize.cgraph";

}  // namespace

TEST(Cli, ValidateGoodFileExitsZero) {
  Result r = cli("validate '" + kExample + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ok (3 nodes"), std::string::npos) << r.out;
}

TEST(Cli, ValidateBrokenFileExitsOneAndNamesEveryProblem) {
  const fs::path p = write("broken.cgraph", R"({"format": "camgraph", "version": 1, "graph": {
    "nodes": [{"id": "gen", "type": "image.pattern", "params": {"width": 0}},
              {"id": "blur", "type": "image.blurr"},
              {"id": "save", "type": "image.save"}],
    "links": [{"from": "gen.image", "to": "save.image"}]}})");
  Result r = cli("validate '" + p.string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("node 'gen', 'width'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("below the minimum 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("node 'blur'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown node type 'image.blurr'"), std::string::npos) << r.err;
}

TEST(Cli, ValidateTruncatedFileExitsOne) {
  const fs::path p = write("trunc.cgraph", R"({"format": "camgraph", "version": 1, "graph": {"nodes": [)");
  Result r = cli("validate '" + p.string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("invalid JSON at line 1"), std::string::npos) << r.err;
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(cli("").code, 2);
  EXPECT_EQ(cli("frobnicate").code, 2);
  EXPECT_EQ(cli("run").code, 2);
  EXPECT_EQ(cli("run '" + kExample + "' --device tpu").code, 2);
  Result r = cli("run '" + kExample + "' --set pattern.nope=1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has no parameter 'nope'"), std::string::npos) << r.err;
  EXPECT_EQ(cli("run '" + kExample + "' --set pattern.width=abc").code, 2);
}

TEST(Cli, MissingFileExitsOne) {
  Result r = cli("run /nonexistent/graph.cgraph");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent/graph.cgraph"), std::string::npos) << r.err;
}

TEST(Cli, NodesJsonListsSpecs) {
  Result r = cli("nodes --json");
  ASSERT_EQ(r.code, 0);
  const auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& n : j["nodes"])
    if (n["type"] == "image.pattern") {
      found = true;
      EXPECT_FALSE(n["params"].empty());
      EXPECT_EQ(n["outputs"][0]["type"], "Image");
    }
  EXPECT_TRUE(found);
  EXPECT_FALSE(j["port_types"].empty());
}

TEST(Cli, RunWritesOutputsAndEmitsJsonEvents) {
  const fs::path out = work_dir() / "run-out";
  Result r = cli("run '" + kExample + "' --out '" + out.string() + "' --events json --set pattern.seed=11");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "checker" / "noise.png"));
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(lines, line)) events.push_back(nlohmann::json::parse(line));
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.front()["event"], "run_started");
  EXPECT_EQ(events.back()["event"], "run_finished");
  EXPECT_EQ(events.back()["status"], "ok");

  // A user's file of the same name is never replaced silently.
  const fs::path user_out = work_dir() / "user-out";
  fs::create_directories(user_out / "checker");
  std::ofstream(user_out / "checker" / "noise.png") << "my own file";
  Result refused = cli("run '" + kExample + "' --out '" + user_out.string() + "'");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("node 'save', 'path'"), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(user_out / "checker" / "noise.png"), "my own file");
}

TEST(Cli, CacheIsCappedAfterARunAndCanBeInspectedAndPruned) {
  const fs::path out = work_dir() / "cache-out", cache = work_dir() / "cache";
  Result r = cli("run '" + kExample + "' --out '" + out.string() + "' --cache-dir '" + cache.string() + "' --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  Result usage = cli("cache usage '" + cache.string() + "' --json");
  ASSERT_EQ(usage.code, 0) << usage.err;
  const auto before = nlohmann::json::parse(usage.out);
  ASSERT_GT(before["entries"].get<int>(), 0);
  ASSERT_GT(before["bytes"].get<double>(), 0);

  // A cap smaller than the cache's content: the run prunes it after itself and says so.
  fs::remove_all(out);
  Result capped = cli("run '" + kExample + "' --out '" + out.string() + "' --cache-dir '" + cache.string() +
                      "' --cache-max-gb 0.000000001");
  ASSERT_EQ(capped.code, 0) << capped.err;
  EXPECT_NE(capped.err.find("cache: removed"), std::string::npos) << capped.err;
  EXPECT_EQ(nlohmann::json::parse(cli("cache usage '" + cache.string() + "' --json").out)["entries"], 0);

  Result again = cli("run '" + kExample + "' --out '" + (out / "x").string() + "' --cache-dir '" + cache.string() +
                     "' --quiet");
  ASSERT_EQ(again.code, 0) << again.err;
  Result pruned = cli("cache prune '" + cache.string() + "' --max-gb 0 --json");
  ASSERT_EQ(pruned.code, 0) << pruned.err;
  const auto p = nlohmann::json::parse(pruned.out);
  EXPECT_EQ(p["removed"]["entries"], before["entries"]);
  EXPECT_EQ(p["entries"], 0);

  EXPECT_EQ(cli("cache prune '" + cache.string() + "'").code, 2);  // no --max-gb
  EXPECT_EQ(cli("run '" + kExample + "' --cache-max-gb lots").code, 2);
  EXPECT_EQ(cli("run '" + kExample + "' --cache-max-gb inf").code, 2);
  EXPECT_EQ(cli("cache usage '" + (work_dir() / "no-such-cache").string() + "'").code, 1);
}

TEST(Cli, FailingNodeExitsOneAndNamesNodeAndParameter) {
  const fs::path p = write("missing-input.cgraph", R"({"format": "camgraph", "version": 1, "graph": {
    "nodes": [{"id": "photo", "type": "image.load", "params": {"path": "no-such-photo.png"}},
              {"id": "save", "type": "image.save"}],
    "links": [{"from": "photo.image", "to": "save.image"}]}})");
  Result r = cli("run '" + p.string() + "' --out '" + (work_dir() / "o").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("node 'photo', 'path'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no-such-photo.png' not found"), std::string::npos) << r.err;
}

// ---- camgraph-cli batch / dataset index (docs/batch.md) ----

namespace {
fs::path write_sweep(const std::string& name, const std::string& body) {
  fs::copy_file(kExample, work_dir() / "checker-resize.cgraph", fs::copy_options::overwrite_existing);
  return write(name, body);
}
}  // namespace

TEST(CliBatch, DryRunListsItemsThenRunsAndResumes) {
  const fs::path sweep = write_sweep("sizes.json", R"({"name": "sizes", "graph": "checker-resize.cgraph",
    "vary": {"resize.width": [16, 24, 32]}, "per_item": {"save.path": "img/w{resize.width}.png"}})");
  const fs::path out = work_dir() / "batch-out";
  Result dry = cli("batch '" + sweep.string() + "' --out '" + out.string() + "' --dry-run --json");
  ASSERT_EQ(dry.code, 0) << dry.err;
  const auto j = nlohmann::json::parse(dry.out);
  ASSERT_EQ(j["items"].size(), 3u);
  EXPECT_EQ(j["items"][1]["overrides"]["resize.width"], 24);
  EXPECT_EQ(j["items"][1]["outputs"]["save.path"], "img/w24.png");
  EXPECT_EQ(j["items"][1]["state"], "pending");
  EXPECT_NE(j["items"][0]["id"], j["items"][1]["id"]);
  EXPECT_FALSE(fs::exists(out / "img"));  // a dry run writes nothing

  Result run = cli("batch '" + sweep.string() + "' --out '" + out.string() + "' --jobs 2");
  ASSERT_EQ(run.code, 0) << run.err << run.out;
  EXPECT_NE(run.out.find("3 item(s): 3 done, 0 skipped"), std::string::npos) << run.out;
  for (int w : {16, 24, 32}) EXPECT_TRUE(fs::exists(out / "img" / ("w" + std::to_string(w) + ".png")));
  Result again = cli("batch '" + sweep.string() + "' --out '" + out.string() + "'");
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("0 done, 3 skipped"), std::string::npos) << again.out;
  Result listed = cli("batch '" + sweep.string() + "' --out '" + out.string() + "' --dry-run");
  EXPECT_NE(listed.out.find("done     resize.width=24 save.path=img/w24.png"), std::string::npos) << listed.out;
}

TEST(CliBatch, BadSweepsAndOptionsSayWhatIsWrong) {
  const fs::path ghost = write_sweep("ghost.json",
                                     R"({"graph": "checker-resize.cgraph", "vary": {"ghost.seed": [1]}})");
  Result r = cli("batch '" + ghost.string() + "' --dry-run");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ghost.json: at /vary (item 0, ghost.seed): no node 'ghost' in checker-resize.cgraph"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(cli("batch '" + ghost.string() + "' --jobs 0").code, 2);
  EXPECT_EQ(cli("batch").code, 2);
  Result nosubmit = cli(
      "batch '" +
      write_sweep("ok.json", R"({"graph": "checker-resize.cgraph", "vary": {"pattern.seed": [1, 2]}})").string() +
      "' --out '" + (work_dir() / "slurm-out").string() + "' --slurm --no-submit --partition p --array-parallel 1");
  ASSERT_EQ(nosubmit.code, 0) << nosubmit.err;
  EXPECT_NE(nosubmit.out.find("2 item(s) (of 2; the rest are done) in 2 array task(s)"), std::string::npos)
      << nosubmit.out;
  EXPECT_NE(
      slurp(work_dir() / "slurm-out/.camgraph-batch/ok/slurm/submission-1/job.sbatch").find("#SBATCH --array=0-1%1"),
      std::string::npos);
}

TEST(CliDataset, IndexMergesWriterShards) {
  const fs::path ds = work_dir() / "ds";
  fs::create_directories(ds / "metadata.d");
  fs::create_directories(ds / "videos");
  std::ofstream(ds / "videos" / "a.mp4") << "a";
  std::ofstream(ds / "videos" / "b.mp4") << "b";
  std::ofstream(ds / "metadata.d" / "w1.jsonl") << R"({"file_name": "videos/a.mp4", "text": "a"})"
                                                << "\n";
  std::ofstream(ds / "metadata.d" / "w2.jsonl") << R"({"file_name": "videos/b.mp4", "text": "b"})"
                                                << "\n"
                                                << R"({"file_name": "videos/c.mp4", "text": "c"})"
                                                << "\n";
  Result r = cli("dataset index '" + ds.string() + "'");
  if (r.err.find("no dataset family") != std::string::npos) GTEST_SKIP() << "this build has no dataset family (FFmpeg)";
  EXPECT_EQ(r.code, 1) << r.err;  // videos/c.mp4 is missing
  EXPECT_NE(r.out.find("metadata.jsonl has 3 item(s); 2 shard(s) merged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing file: videos/c.mp4"), std::string::npos) << r.out;
  std::ifstream in(ds / "metadata.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) lines += !line.empty();
  EXPECT_EQ(lines, 3);
}

// ---- every subcommand's --help / -h: its own usage on stdout, exit 0 ----

TEST(CliHelp, EverySubcommandPrintsItsUsageAndExitsZero) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"run --help", "usage: camgraph-cli run FILE"},
      {"run -h", "usage: camgraph-cli run FILE"},
      {"run '" + kExample + "' --help", "usage: camgraph-cli run FILE"},
      {"validate --help", "usage: camgraph-cli validate FILE"},
      {"nodes --help", "usage: camgraph-cli nodes [--json]"},
      {"batch --help", "usage: camgraph-cli batch SWEEP"},
      {"batch -h", "usage: camgraph-cli batch SWEEP"},
      {"batch gather --help", "usage: camgraph-cli batch gather SWEEP"},
      {"dataset --help", "usage: camgraph-cli dataset index DIR"},
      {"dataset index --help", "usage: camgraph-cli dataset index DIR"},
      {"dataset report --help", "usage: camgraph-cli dataset report DIR"},
      {"cache --help", "usage: camgraph-cli cache usage DIR"},
      {"cache usage --help", "usage: camgraph-cli cache usage DIR"},
      {"cache prune -h", "camgraph-cli cache prune DIR --max-gb G"},
  };
  for (const auto& [args, usage] : cases) {
    Result r = cli(args);
    EXPECT_EQ(r.code, 0) << args << ": " << r.err;
    EXPECT_NE(r.out.find(usage), std::string::npos) << args << ": " << r.out;
    EXPECT_EQ(r.err.find("unknown option"), std::string::npos) << args << ": " << r.err;
  }
}

TEST(CliHelp, BatchHelpListsItsOptions) {
  Result r = cli("batch --help");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* option : {"--dry-run", "--jobs N", "--retries K", "--cache-dir DIR", "--slurm", "--state-dir DIR"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option << "\n" << r.out;
}

TEST(CliHelp, TopLevelHelpKeepsEverySectionAndUnknownOptionsStillExitTwo) {
  Result r = cli("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* section : {"usage:", "run options:", "batch options:", "exit codes:"})
    EXPECT_NE(r.out.find(section), std::string::npos) << section << "\n" << r.out;
  Result bad = cli("batch --frobnicate");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("batch: unknown option '--frobnicate'"), std::string::npos) << bad.err;
  EXPECT_EQ(cli("cache usage --frobnicate").code, 2);
}

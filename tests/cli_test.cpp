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
  const std::string cmd = std::string("'") + CAMGRAPH_CLI + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
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

// The engine's durable writer as batches rely on it (docs/reliability.md, "Batches"): injected
// write / fsync / rename failures name the file and the reason and lose nothing already written;
// temporary files of dead writers are recognised and removed, live ones kept; the outputs log.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>

#include "camgraph/output_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace camgraph;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;

namespace {

// Turns injection off again however the test ends.
struct Faults {
  explicit Faults(const std::string& spec) { set_io_faults(spec); }
  ~Faults() { set_io_faults(""); }
};

std::vector<std::string> temps_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (parse_temp_name(e.path().filename().string())) out.push_back(e.path().string());
  return out;
}

// A process id that belonged to a process that has exited (and been reaped).
long dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

void touch(const fs::path& p, std::chrono::seconds age = std::chrono::seconds(0)) {
  std::ofstream(p) << "partial";
  fs::last_write_time(p, fs::file_time_type::clock::now() - age);
}

}  // namespace

TEST(DurableWrite, InjectedFailuresNameTheFileAndTheReasonAndKeepThePreviousVersion) {
  const struct {
    const char* spec;
    const char* reason;
  } cases[] = {{"write:ENOSPC", "No space left on device"},
               {"fsync:EIO", "Input/output error"},
               {"rename:EROFS", "Read-only file system"},
               // The manifest entry goes first; these fail on the file itself.
               {"write:ENOSPC@1", "No space left on device"},
               {"fsync:EIO@2", "Input/output error"},
               {"rename:EROFS@1", "Read-only file system"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.spec);
    const fs::path dir = temp_dir("durable-faults");
    OutputFiles out(dir);
    out.write(dir / "clip.txt", "version 1");
    std::string err;
    {
      Faults f(c.spec);
      err = error_of([&] { out.write(dir / "clip.txt", "version 2, longer"); });
    }
    EXPECT_NE(err.find((dir / "clip.txt").string()), std::string::npos) << err;
    EXPECT_NE(err.find(c.reason), std::string::npos) << err;
    EXPECT_EQ(read_file(dir / "clip.txt"), "version 1");
    EXPECT_TRUE(temps_in(dir).empty()) << temps_in(dir)[0];
    // The old version is still ours: a later run replaces it without `overwrite`.
    OutputFiles next_run(dir);
    EXPECT_TRUE(next_run.was_written_by_us(dir / "clip.txt"));
    next_run.write(dir / "clip.txt", "version 2, longer");
    EXPECT_EQ(read_file(dir / "clip.txt"), "version 2, longer");
  }
}

TEST(DurableWrite, APlainAtomicWriteAndAnEncodersCommitFailCleanly) {
  const fs::path dir = temp_dir("durable-commit");
  write_file_atomic(dir / "scene.ply", "old scene");
  {
    Faults f("write:EDQUOT");
    const std::string err = error_of([&] { write_file_atomic(dir / "scene.ply", "new scene"); });
    EXPECT_NE(err.find("cannot write " + (dir / ".scene.ply.tmp-").string()), std::string::npos) << err;
    EXPECT_NE(err.find("Disk quota exceeded"), std::string::npos) << err;
  }
  EXPECT_EQ(read_file(dir / "scene.ply"), "old scene");

  // An encoder writes its own temporary file and commits it.
  OutputFiles out(dir);
  out.write(dir / "clip.mp4", "first encode");
  const fs::path tmp = out.temp_path_for(dir / "clip.mp4");
  std::ofstream(tmp) << "second encode";
  {
    Faults f("rename:EROFS@1");
    const std::string err = error_of([&] { out.commit(tmp, dir / "clip.mp4"); });
    EXPECT_NE(err.find((dir / "clip.mp4").string()), std::string::npos) << err;
    EXPECT_NE(err.find("Read-only file system"), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(read_file(dir / "clip.mp4"), "first encode");
  EXPECT_TRUE(temps_in(dir).empty());
}

TEST(DurableWrite, FaultSpecsAreCheckedAndCountCalls) {
  EXPECT_NE(error_of([] { set_io_faults("write"); }).find("'write': no ':'"), std::string::npos);
  EXPECT_NE(error_of([] { set_io_faults("seek:EIO"); }).find("unknown op 'seek'"), std::string::npos);
  EXPECT_NE(error_of([] { set_io_faults("write:ENOPE"); }).find("unknown errno 'ENOPE'"), std::string::npos);
  EXPECT_NE(error_of([] { set_io_faults("write:EIO@x"); }).find("not a number"), std::string::npos);
  EXPECT_NE(error_of([] { set_io_faults("rename:sleep"); }).find("milliseconds"), std::string::npos);
  const fs::path dir = temp_dir("durable-count");
  Faults f("write:ENOSPC@2");  // two writes succeed, then the disk is full for good
  EXPECT_EQ(error_of([&] { write_file_atomic(dir / "a", "a"); }), "");
  EXPECT_EQ(error_of([&] { write_file_atomic(dir / "b", "b"); }), "");
  EXPECT_NE(error_of([&] { write_file_atomic(dir / "c", "c"); }).find("No space left"), std::string::npos);
  EXPECT_NE(error_of([&] { write_file_atomic(dir / "d", "d"); }).find("No space left"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "c"));
}

TEST(TempFiles, NamesSayWhoWroteThem) {
  const fs::path t = temp_path_for_file(fs::path("out") / "clip.mp4");
  EXPECT_EQ(t.parent_path(), fs::path("out"));
  const auto parsed = parse_temp_name(t.filename().string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->target, "clip.mp4");
  EXPECT_EQ(parsed->pid, long(::getpid()));
  EXPECT_EQ(parsed->host.size(), 8u);
  EXPECT_NE(temp_path_for_file("x"), temp_path_for_file("x"));  // two writers of one file never collide
  const auto legacy = parse_temp_name(".a.json.tmp-123-4");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->target, "a.json");
  EXPECT_EQ(legacy->pid, 123);
  EXPECT_TRUE(legacy->host.empty());
  for (const char* not_temp : {"clip.mp4", ".hidden", ".a.tmp-", ".a.tmp-12-zz-00000000", "a.tmp-1-2", ".a.tmp-x-1"})
    EXPECT_FALSE(parse_temp_name(not_temp)) << not_temp;
}

TEST(TempFiles, ThoseOfDeadWritersAreRemovedAndLiveOnesKept) {
  const fs::path dir = temp_dir("durable-stale");
  fs::create_directories(dir / "sub");
  const std::string host = parse_temp_name(temp_path_for_file("x").filename().string())->host;
  const std::string me = std::to_string(::getpid()), dead = std::to_string(dead_pid());
  const fs::path live = dir / (".a.mp4.tmp-" + me + "-" + host + "-0000000a");
  const fs::path killed = dir / (".b.mp4.tmp-" + dead + "-" + host + "-0000000b");
  const fs::path legacy = dir / (".c.json.tmp-" + dead + "-7");
  // Our pid, but the file is older than this process: a killed writer whose pid was reused.
  const fs::path reused = dir / (".d.txt.tmp-" + me + "-" + host + "-0000000d");
  const fs::path foreign_old = dir / ".e.txt.tmp-1-00000000-0000000e";
  const fs::path foreign_new = dir / ".f.txt.tmp-1-00000000-0000000f";
  const fs::path deep = dir / "sub" / (".g.txt.tmp-" + dead + "-" + host + "-00000001");
  touch(live);
  touch(killed);
  touch(legacy);
  touch(reused, std::chrono::hours(24));
  touch(foreign_old, std::chrono::hours(2));
  touch(foreign_new);
  touch(deep);
  touch(dir / ".not-a-temp");
  std::set<fs::path> removed;
  for (auto& p : remove_stale_temps(dir, /*recursive=*/false)) removed.insert(p);
  EXPECT_EQ(removed, (std::set<fs::path>{killed, legacy, reused, foreign_old}));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(foreign_new));
  EXPECT_TRUE(fs::exists(deep));
  EXPECT_TRUE(fs::exists(dir / ".not-a-temp"));
  const auto again = remove_stale_temps(dir, /*recursive=*/true);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], deep);

  // A writer sweeps its folder before its first write there.
  fs::create_directories(dir / "fresh");
  const fs::path left = dir / "fresh" / (".i.txt.tmp-" + dead + "-" + host + "-00000002");
  touch(left);
  write_file_atomic(dir / "fresh" / "i.txt", "done");
  EXPECT_FALSE(fs::exists(left));
}

TEST(OutputsLog, EveryCommittedFileAndLineIsListed) {
  const fs::path dir = temp_dir("durable-outputs-log");
  const fs::path log = dir / "outputs.jsonl";
  ::setenv("CAMGRAPH_OUTPUTS_LOG", log.c_str(), 1);
  OutputFiles out(dir);
  out.write(dir / "poses.txt", "12345");
  out.write_line_file(dir / "metadata.jsonl", "{\"file_name\": \"videos/a.mp4\"}\n", "videos/a.mp4");
  const fs::path tmp = out.temp_path_for(dir / "a.mp4");
  std::ofstream(tmp) << "video!";
  out.commit(tmp, dir / "a.mp4");
  ::unsetenv("CAMGRAPH_OUTPUTS_LOG");
  out.write(dir / "unlogged.txt", "x");
  std::vector<json> lines;
  std::ifstream in(log);
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["path"], (dir / "poses.txt").string());
  EXPECT_EQ(lines[0]["size"], 5);
  EXPECT_EQ(lines[0]["xxh3"], hash_file_hex(dir / "poses.txt"));
  EXPECT_EQ(lines[1]["line_key"], "videos/a.mp4");
  EXPECT_FALSE(lines[1].contains("xxh3"));
  EXPECT_EQ(lines[2]["path"], (dir / "a.mp4").string());
  EXPECT_EQ(lines[2]["size"], 6);
  EXPECT_EQ(lines[2]["xxh3"], hash_file_hex(dir / "a.mp4"));
}

// What an item wrote, and whether it is still there (internal to camgraph_batch). The runner gives
// every child an outputs log ($CAMGRAPH_OUTPUTS_LOG, appended to by the engine's OutputFiles), keeps
// its lines in the manifest when the item is done, and checks them when a run resumes.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace camgraph::batch::detail {

// The lines of an outputs log, one per path (the last line of a path wins), paths relative to
// out_dir when under it. An absent log gives an empty array; bad lines are left out.
nlohmann::json read_outputs_log(const std::filesystem::path& log, const std::filesystem::path& out_dir);

// Checks done items' recorded outputs against the disk: each file's size, then its XXH3 hash (a
// video whose size or hash differs is decoded, in builds with FFmpeg, to say how much of it still
// decodes); each metadata line's file_name in its dataset folder (metadata.jsonl or a shard).
class OutputChecker {
 public:
  // `shared`: paths that more than one item recorded (a file every item rewrites): only their
  // presence is checked, as the last writer's content is not every item's.
  explicit OutputChecker(std::filesystem::path out_dir, std::set<std::string> shared = {})
      : out_dir_(std::move(out_dir)), shared_(std::move(shared)) {}
  // "" when every output is as recorded, else the first problem, naming the file. `damaged` gets
  // every file that is there but not as recorded (the runner moves those aside before the item
  // runs again: the engine never overwrites a file it does not recognise as its own).
  std::string check(const nlohmann::json& outputs, std::vector<std::filesystem::path>* damaged = nullptr);

 private:
  std::filesystem::path resolve(const std::string& path) const;
  std::string check_file(const nlohmann::json& o, const std::string& name, const std::filesystem::path& file,
                         std::vector<std::filesystem::path>* damaged);
  std::filesystem::path out_dir_;
  std::set<std::string> shared_;
  std::map<std::string, std::set<std::string>> line_keys_;  // dataset folder -> file_names (read once)
};

// Output paths (with a hash) that more than one done item of `manifest` recorded: a file every item
// rewrites, not one item's to check.
std::set<std::string> shared_output_paths(const nlohmann::json& done_outputs_lists);

// How many video frames of `file` decode (camgraph/formats/video_reader.h): -1 in a build without
// FFmpeg, -2 when the file does not decode.
long probe_video_frames(const std::filesystem::path& file);

}  // namespace camgraph::batch::detail

// An item's outputs: the log its child wrote, and the check on resume (see item_outputs.h).
#include "item_outputs.h"

#include <sys/stat.h>

#include <fstream>

#include "camgraph/formats/dataset_metadata.h"
#include "camgraph/output_files.h"
#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
#include "camgraph/formats/video_reader.h"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch::detail {

namespace {
std::string relative_to(const fs::path& p, const fs::path& root) {
  const fs::path abs = fs::absolute(p).lexically_normal(), r = fs::absolute(root).lexically_normal();
  const fs::path rel = abs.lexically_relative(r);
  if (rel.empty() || *rel.begin() == "..") return abs.string();
  return rel.string();
}

bool is_video(const fs::path& p) {
  static const std::set<std::string> ext = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"};
  return ext.count(p.extension().string()) > 0;
}

}  // namespace

json read_outputs_log(const fs::path& log, const fs::path& out_dir) {
  json out = json::array();
  std::map<std::string, size_t> at;  // path -> index in out
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("path") || !j["path"].is_string()) continue;
    j["path"] = relative_to(j["path"].get<std::string>(), out_dir);
    const std::string key = j["path"].get<std::string>() + (j.contains("line_key") ? "|line" : "");
    auto it = at.find(key);
    if (it != at.end()) {
      out[it->second] = j;
    } else {
      at[key] = out.size();
      out.push_back(j);
    }
  }
  return out;
}

std::set<std::string> shared_output_paths(const json& lists) {
  std::map<std::string, int> seen;
  for (const auto& outputs : lists)
    for (const auto& o : outputs)
      if (o.is_object() && o.contains("xxh3") && o.contains("path") && o["path"].is_string()) seen[o["path"]]++;
  std::set<std::string> shared;
  for (const auto& [path, n] : seen)
    if (n > 1) shared.insert(path);
  return shared;
}

long probe_video_frames(const fs::path& file) {
#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
  try {
    return long(video::count_video_frames(file.string()));
  } catch (const video::VideoError&) {
    return -2;
  }
#else
  (void)file;
  return -1;
#endif
}

fs::path OutputChecker::resolve(const std::string& path) const {
  const fs::path p(path);
  return p.is_absolute() ? p : out_dir_ / p;
}

// One recorded file: "" when it is as recorded, else the problem.
std::string OutputChecker::check_file(const json& o, const std::string& name, const fs::path& file,
                                      std::vector<fs::path>* damaged) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return name + " is missing";
  if (shared_.count(name)) return "";
  const uint64_t want = o.value("size", uint64_t(0));
  std::string problem;
  if (uint64_t(st.st_size) != want) {
    problem = name + " has " + std::to_string(st.st_size) + " bytes, " + std::to_string(want) + " recorded";
  } else {
    std::string hash;
    try {
      hash = hash_file_hex(file);
    } catch (const std::exception& e) {
      hash = std::string("unreadable: ") + e.what();
    }
    if (hash != o.value("xxh3", "")) problem = name + " changed since it was written (content hash differs)";
  }
  if (problem.empty()) return "";
  if (damaged) damaged->push_back(file);
  if (is_video(file)) {
    const long frames = probe_video_frames(file);
    if (frames == -2) problem += "; it does not decode";
    else if (frames >= 0) problem += "; it decodes to " + std::to_string(frames) + " frame(s)";
  }
  return problem;
}

std::string OutputChecker::check(const json& outputs, std::vector<fs::path>* damaged) {
  if (!outputs.is_array()) return "";
  std::string first;
  for (const auto& o : outputs) {
    if (!o.is_object() || !o.contains("path") || !o["path"].is_string()) continue;
    const std::string name = o["path"].get<std::string>();
    const fs::path file = resolve(name);
    std::string problem;
    if (o.contains("line_key")) {
      const std::string key = o["line_key"].is_string() ? o["line_key"].get<std::string>() : "";
      if (key.empty()) continue;
      const fs::path folder = dataset::dataset_folder_of(file);
      auto it = line_keys_.find(folder.string());
      if (it == line_keys_.end()) it = line_keys_.emplace(folder.string(), dataset::metadata_file_names(folder)).first;
      if (!it->second.count(key))
        problem = relative_to(folder / "metadata.jsonl", out_dir_) + ": the line of " + key + " is missing";
    } else {
      problem = check_file(o, name, file, damaged);
    }
    if (first.empty()) first = problem;
    if (!first.empty() && !damaged) break;
  }
  return first;
}

}  // namespace camgraph::batch::detail

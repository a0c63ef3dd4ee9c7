// build_dataset_report: reads a dataset folder and checks every file its items name.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "camgraph/dataset_report.h"
#include "camgraph/formats/dataset_caption.h"
#include "item_checks.h"

namespace camgraph::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kMaxLineBytes = size_t(16) << 20;  // one metadata line

std::string text_of(const json& line, const char* key) {
  return line.contains(key) && line[key].is_string() ? line[key].get<std::string>() : "";
}

// "12.5" -> "12.5", 16.0 -> "16"
std::string number_label(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v;
  return s.str();
}

// The longest motion record (by frame range): the item's camera move.
json dominant_motion(const json& motion) {
  json best;
  double best_len = -1;
  if (!motion.is_array()) return best;
  for (const auto& m : motion) {
    if (!m.is_object()) continue;
    double len = 0;
    if (m.contains("frames") && m["frames"].is_array() && m["frames"].size() == 2 && m["frames"][0].is_number() &&
        m["frames"][1].is_number())
      len = m["frames"][1].get<double>() - m["frames"][0].get<double>();
    if (len > best_len) best_len = len, best = m;
  }
  return best;
}

// Objects and environment records (shot metadata of moving characters and weather), when present.
std::string actions_of(const json& line) {
  std::set<std::string> actions;
  if (line.contains("objects") && line["objects"].is_array())
    for (const auto& o : line["objects"])
      if (o.is_object() && o.contains("action") && o["action"].is_string())
        actions.insert(o["action"].get<std::string>());
  if (actions.empty()) return "none";
  std::string s;
  for (const auto& a : actions) s += (s.empty() ? "" : "+") + a;
  return s;
}

std::string weather_of(const json& line) {
  if (line.contains("environment") && line["environment"].is_object()) {
    const json& e = line["environment"];
    const std::string effect = text_of(e, "effect");
    if (!effect.empty()) return effect;
  }
  return "none";
}

void fill_categories(ReportItem& item, const json& line) {
  const json m = dominant_motion(line.value("motion", json()));
  const std::string type = m.is_object() ? m.value("type", "static") : "static";
  const std::string direction = m.is_object() ? text_of(m, "direction") : "";
  item.camera_move = direction.empty() ? type : type + " " + direction;
  item.intensity = m.is_object() && m.contains("intensity") && m["intensity"].is_number()
                       ? number_label(m["intensity"].get<double>())
                       : "-";
  item.scene = text_of(line, "scene");
  if (item.scene.empty()) item.scene = text_of(line, "scene_id");
  if (item.scene.empty()) item.scene = "-";
  item.character = text_of(line, "subject");
  if (item.character.empty()) item.character = text_of(line, "character_id");
  if (item.character.empty()) item.character = "-";
  item.action = actions_of(line);
  item.weather = weather_of(line);
}

// The QC numbers the report summarises, and which way is better.
const std::vector<std::pair<std::string, bool>> kScores = {
    {"score", true},
    {"sharpness.mean", true},
    {"sharpness.min_ratio", true},
    {"temporal_flicker", true},
    {"reprojection.mean_error", false},
    {"reprojection.max_error", false},
    {"interpolation.min_psnr", true},
    {"interpolation.ssim", true},
};

const json* at_path(const json& j, const std::string& path) {
  const json* cur = &j;
  std::stringstream ss(path);
  for (std::string key; std::getline(ss, key, '.');) {
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
  }
  return cur;
}

void summarise(DatasetReport& r) {
  std::map<std::string, std::map<std::string, size_t>>& c = r.counts;
  for (const ReportItem& it : r.items) {
    c["camera move"][it.camera_move.substr(0, it.camera_move.find(' '))]++;
    c["direction"]
     [it.camera_move.find(' ') == std::string::npos ? "-" : it.camera_move.substr(it.camera_move.find(' ') + 1)]++;
    c["intensity"][it.intensity]++;
    c["scene"][it.scene]++;
    c["character"][it.character]++;
    c["action"][it.action]++;
    c["weather"][it.weather]++;
    r.shape_counts["size"][std::to_string(it.width) + "x" + std::to_string(it.height)]++;
    r.shape_counts["fps"][number_label(it.fps)]++;
    r.shape_counts["frames"][std::to_string(it.frames)]++;
    if (it.has_qc) {
      ++r.qc_checked;
      if (!it.qc_pass) ++r.qc_failed;
    }
    if (it.label_agrees >= 0) {
      ++r.label_checked;
      if (it.label_agrees == 1) ++r.label_agreed;
    }
  }
  // The items off the most common size / fps / length.
  for (const auto& [key, values] : r.shape_counts) {
    const auto top = std::max_element(values.begin(), values.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
    if (top == values.end() || values.size() < 2) continue;
    for (const ReportItem& it : r.items) {
      const std::string v = key == "size"  ? std::to_string(it.width) + "x" + std::to_string(it.height)
                            : key == "fps" ? number_label(it.fps)
                                           : std::to_string(it.frames);
      if (v != top->first) r.non_uniform[key].push_back(it.id + " (" + v + ")");
    }
  }
  for (const auto& [path, higher] : kScores) {
    ScoreSummary s{path, higher, {}};
    for (const ReportItem& it : r.items)
      if (const json* v = at_path(it.qc, path); v && v->is_number() && std::isfinite(v->get<double>()))
        s.values.emplace_back(v->get<double>(), it.id);
    if (s.values.empty()) continue;
    std::sort(s.values.begin(), s.values.end(), [higher = higher](const auto& a, const auto& b) {
      return higher ? a.first < b.first : a.first > b.first;
    });
    r.scores.push_back(std::move(s));
  }
}

}  // namespace

DatasetReport build_dataset_report(const fs::path& folder, const ReportOptions& options) {
  DatasetReport r;
  r.folder = folder;
  r.videos_decoded = options.decode_videos && video_decoding_available();
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw std::runtime_error("dataset folder " + folder.string() + " does not exist");
  const fs::path meta = folder / "metadata.jsonl";
  std::ifstream in(meta, std::ios::binary);
  if (!in) throw std::runtime_error(meta.string() + ": cannot be read (is this a dataset folder?)");
  if (fs::is_directory(folder / "metadata.d", ec) && !fs::is_empty(folder / "metadata.d", ec))
    r.problems.push_back({"metadata.d", (folder / "metadata.d").string() +
                                            ": shards not merged yet (run camgraph-cli dataset index first)"});
  std::map<std::string, size_t> seen_file, seen_id;
  std::set<std::string> hashes, versions, encoders;
  std::string line;
  size_t line_no = 0;
  bool too_long = false;
  while (read_bounded_line(in, line, kMaxLineBytes, too_long)) {
    ++line_no;
    const std::string where = "metadata.jsonl:" + std::to_string(line_no);
    if (!too_long && line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (too_long) {
      r.problems.push_back({where, meta.string() + " line " + std::to_string(line_no) + ": longer than 16 MiB"});
      continue;
    }
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object() || text_of(j, "file_name").empty()) {
      r.problems.push_back(
          {where, meta.string() + " line " + std::to_string(line_no) + ": not a JSON object with a file_name"});
      continue;
    }
    ReportItem it;
    it.file_name = text_of(j, "file_name");
    it.id = text_of(j, "id");
    if (it.id.empty()) it.id = fs::path(it.file_name).stem().string();
    if (auto [at, fresh] = seen_file.emplace(it.file_name, line_no); !fresh)
      r.problems.push_back({it.id, meta.string() + " line " + std::to_string(line_no) + ": " + it.file_name +
                                       " is listed again (first on line " + std::to_string(at->second) + ")"});
    else if (auto [at2, fresh2] = seen_id.emplace(it.id, line_no); !fresh2)
      r.problems.push_back({it.id, meta.string() + " line " + std::to_string(line_no) + ": item id " + it.id +
                                       " is used again (first on line " + std::to_string(at2->second) + ")"});
    it.caption = text_of(j, "text");
    it.width = j.value("width", 0);
    it.height = j.value("height", 0);
    it.frames = j.value("frames", 0);
    it.fps = j.contains("fps") && j["fps"].is_number() ? j["fps"].get<double>() : 0.0;
    fill_categories(it, j);
    if (j.contains("qc") && j["qc"].is_object()) {
      it.has_qc = true;
      it.qc = j["qc"];
      it.qc_pass = j.value("qc_pass", it.qc.value("pass", true));
      if (const json* a = at_path(it.qc, "label_truth.agrees"); a && a->is_boolean()) it.label_agrees = a->get<bool>();
    }
    if (j.contains("provenance") && j["provenance"].is_object()) {
      const std::string h = text_of(j["provenance"], "graph_hash"), v = text_of(j["provenance"], "camgraph");
      if (!h.empty()) hashes.insert(h);
      if (!v.empty()) versions.insert(v);
    }
    if (j.contains("encoder") && j["encoder"].is_object())
      encoders.insert(text_of(j["encoder"], "encoder") + " " + text_of(j["encoder"], "codec"));
    check_item(folder, j, it, options, r.problems);
    for (const std::string& p : dataset::caption_motion_problems(it.caption, j.value("motion", json::array())))
      r.problems.push_back({it.id, it.id + ": " + p + " (caption: \"" + it.caption + "\")"});
    if (r.sample_pose_line.empty()) r.sample_pose_line = first_pose_line(folder, j);
    r.items.push_back(std::move(it));
  }
  r.graph_hashes.assign(hashes.begin(), hashes.end());
  r.camgraph_versions.assign(versions.begin(), versions.end());
  r.encoders.assign(encoders.begin(), encoders.end());
  summarise(r);
  return r;
}

}  // namespace camgraph::report

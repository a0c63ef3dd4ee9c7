// A finished dataset folder, summarised and checked: `camgraph-cli dataset report DIR` and the dataset
// card that the report and `batch gather` write. Library camgraph_dataset_report (no Qt, no family):
// it reads the folder format of camgraph/formats/dataset_metadata.h and decodes videos through
// camgraph/formats/video_reader.h when the build has FFmpeg.
//
// build_dataset_report reads metadata.jsonl and every file an item names, and records each problem:
// a malformed or duplicated line, a missing file, a video that does not decode to its frame count or
// whose size / fps disagree with its line, a pose file with a wrong line count, a bad number or an
// improper rotation, a camera file that disagrees with the line, a caption whose motion words
// disagree with its motion records. The renderers turn the result into terminal text, an HTML page
// (inline SVG plots and a contact sheet of first / middle / last frames) and the dataset card.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace camgraph::report {

struct ReportOptions {
  bool decode_videos = true;  // count every video's frames; false: the header only (faster)
  bool thumbnails = true;     // first / middle / last frame of each item as JPEG (the HTML page)
  int thumbnail_width = 160;
};

struct Problem {
  std::string item;  // the item id, or "metadata.jsonl:<line>" for a line without one
  std::string what;  // names the file and the problem
};

struct ReportItem {
  std::string id, file_name, caption;
  int width = 0, height = 0, frames = 0;
  double fps = 0;
  std::string camera_move;  // "orbit left" (the longest motion record), "static"
  std::string scene, character, action, weather, intensity;
  bool has_qc = false, qc_pass = true;
  nlohmann::json qc;                    // the line's qc record (numbers only are read)
  int label_agrees = -1;                // qc.label_truth.agrees: 1, 0, or -1 when not checked
  std::vector<std::string> thumbnails;  // JPEG bytes: first, middle, last frame
};

// One QC number over the items: where it is in the qc record and which way is better.
struct ScoreSummary {
  std::string path;  // "reprojection.mean_error"
  bool higher_is_better = true;
  std::vector<std::pair<double, std::string>> values;  // (value, item id), sorted worst first
};

struct DatasetReport {
  std::filesystem::path folder;
  std::vector<ReportItem> items;
  std::vector<Problem> problems;
  // "camera move", "direction", "intensity", "scene", "character", "action", "weather" -> value -> items
  std::map<std::string, std::map<std::string, size_t>> counts;
  // "size" ("832x480"), "fps", "frames" -> value -> items; the items off the most common value
  std::map<std::string, std::map<std::string, size_t>> shape_counts;
  std::map<std::string, std::vector<std::string>> non_uniform;
  std::vector<ScoreSummary> scores;
  size_t qc_checked = 0, qc_failed = 0, label_checked = 0, label_agreed = 0;
  std::vector<std::string> graph_hashes, camgraph_versions, encoders;
  std::string sample_pose_line;  // the first frame's line of the first item's poses
  bool videos_decoded = false;
};

// The count categories and the shape keys, in the order the renderers list them.
const std::vector<std::string>& count_categories();  // "camera move", "direction", ... "weather"
const std::vector<std::string>& shape_keys();        // "size", "fps", "frames"

// Reads `folder` (throws naming it when it or its metadata.jsonl cannot be read at all).
DatasetReport build_dataset_report(const std::filesystem::path& folder, const ReportOptions& options = {});

std::string report_text(const DatasetReport& report);
nlohmann::json report_json(const DatasetReport& report);
std::string report_html(const DatasetReport& report);
// README.md with the YAML header dataset hubs read (licence, task categories, size category, the
// video-folder config) and a body with the counts, the camera-move vocabulary, the pose convention
// with a sample line, the generating graphs' hashes and the tools' versions.
std::string dataset_card(const DatasetReport& report, const std::string& license = "other");

}  // namespace camgraph::report

// metadata.jsonl shards and their merge (see dataset_metadata.h).
#include "camgraph/formats/dataset_metadata.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

#include "camgraph/output_files.h"

namespace camgraph::dataset {

namespace fs = std::filesystem;
using nlohmann::json;

std::string metadata_writer_from_env() {
  const char* e = std::getenv("CAMGRAPH_DATASET_WRITER");
  return e ? e : "";
}

bool valid_writer_name(const std::string& w) {
  if (w.empty()) return true;
  if (w.size() > 128 || w.front() == '.') return false;
  return std::all_of(w.begin(), w.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
}

fs::path metadata_file_for_writer(const fs::path& folder, const std::string& writer) {
  return writer.empty() ? folder / "metadata.jsonl" : folder / "metadata.d" / (writer + ".jsonl");
}

namespace {

struct Line {
  std::string key;   // file_name, or "" for a line kept as it is
  std::string text;  // the line, without its newline
};

// Splits JSON-lines text; blank lines dropped. `bad` counts lines without a usable file_name.
std::vector<Line> parse_lines(const std::string& text, const std::string& source, size_t* bad,
                              std::vector<std::string>* warnings) {
  std::vector<Line> out;
  std::stringstream in(text);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string key;
    try {
      const json j = json::parse(line);
      if (j.is_object() && j.contains("file_name") && j["file_name"].is_string()) key = j["file_name"];
    } catch (const std::exception&) {
    }
    if (key.empty()) {
      if (bad) ++*bad;
      if (warnings)
        warnings->push_back(source + " line " + std::to_string(number) +
                            ": not a JSON object with a \"file_name\"; kept as it is");
    }
    out.push_back({key, line});
  }
  return out;
}

// Appends `add` to `lines`, a line with a known key replacing the earlier one in place.
size_t merge_into(std::vector<Line>& lines, std::map<std::string, size_t>& index, std::vector<Line> add) {
  size_t replaced = 0;
  for (auto& l : add) {
    if (!l.key.empty()) {
      auto it = index.find(l.key);
      if (it != index.end()) {
        lines[it->second] = std::move(l);
        ++replaced;
        continue;
      }
      index[l.key] = lines.size();
    }
    lines.push_back(std::move(l));
  }
  return replaced;
}

std::string join(const std::vector<Line>& lines) {
  std::string s;
  for (const auto& l : lines) s += l.text + "\n";
  return s;
}

}  // namespace

std::string upsert_jsonl_line(const std::string& text, const json& item, std::vector<std::string>* warnings) {
  std::vector<Line> lines;
  std::map<std::string, size_t> index;
  merge_into(lines, index, parse_lines(text, "metadata", nullptr, warnings));
  merge_into(lines, index, {{item.value("file_name", ""), item.dump()}});
  return join(lines);
}

void write_metadata_line(OutputFiles& files, const fs::path& file, const json& item, bool overwrite,
                         std::vector<std::string>* warnings) {
  std::error_code ec;
  const std::string text = upsert_jsonl_line(fs::exists(file, ec) ? read_file(file) : "", item, warnings);
  files.write_line_file(file, text, item.value("file_name", ""), overwrite);
}

fs::path dataset_folder_of(const fs::path& metadata_file) {
  const fs::path dir = metadata_file.parent_path();
  return dir.filename() == "metadata.d" ? dir.parent_path() : dir;
}

namespace {
// The shard files of a folder in name order: a later shard's line replaces an earlier one (the batch
// runner's writer names sort by start time, so an item that ran again keeps its newest line).
std::vector<fs::path> shard_files(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path shard_dir = folder / "metadata.d";
  if (fs::is_directory(shard_dir, ec))
    for (const auto& e : fs::directory_iterator(shard_dir, ec))
      if (e.is_regular_file(ec) && e.path().extension() == ".jsonl") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

std::set<std::string> metadata_file_names(const fs::path& folder) {
  std::set<std::string> names;
  std::vector<fs::path> files = shard_files(folder);
  files.push_back(folder / "metadata.jsonl");
  for (const auto& f : files) {
    std::string text;
    try {
      text = read_file(f);
    } catch (const std::exception&) {
      continue;
    }
    for (const auto& l : parse_lines(text, f.string(), nullptr, nullptr))
      if (!l.key.empty()) names.insert(l.key);
  }
  return names;
}

MetadataIndexReport index_dataset_metadata(const fs::path& folder, OutputFiles& files, bool remove_shards) {
  MetadataIndexReport report;
  const fs::path main = folder / "metadata.jsonl";
  std::vector<Line> lines;
  std::map<std::string, size_t> index;
  std::error_code ec;
  if (fs::exists(main, ec))
    merge_into(lines, index, parse_lines(read_file(main), main.string(), &report.bad_lines, &report.warnings));

  const std::vector<fs::path> shards = shard_files(folder);
  for (const auto& s : shards)
    report.replaced += merge_into(lines, index,
                                  parse_lines(read_file(s), s.string(), &report.bad_lines, &report.warnings));
  report.shards = shards.size();
  report.items = lines.size();
  for (const auto& l : lines)
    if (!l.key.empty() && !fs::exists(folder / l.key, ec)) report.missing_files.push_back(l.key);

  if (!shards.empty() || !fs::exists(main, ec)) files.write(main, join(lines), /*overwrite=*/false);
  if (remove_shards)
    for (const auto& s : shards) fs::remove(s, ec);
  return report;
}

fs::path output_root_of(const fs::path& folder) {
  std::error_code ec;
  fs::path root = fs::absolute(folder, ec).lexically_normal();
  if (root.filename().empty()) root = root.parent_path();
  for (fs::path p = root; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / ".camgraph-outputs.json", ec)) return p;
    if (p == p.parent_path()) break;
  }
  return root;
}

MetadataIndexReport index_dataset_metadata(const fs::path& folder, bool remove_shards) {
  OutputFiles files(output_root_of(folder));
  return index_dataset_metadata(folder, files, remove_shards);
}

}  // namespace camgraph::dataset

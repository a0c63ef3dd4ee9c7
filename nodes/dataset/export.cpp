// dataset.export: CogVideoX prompts.txt/videos.txt and WebDataset tar shards (POSIX ustar, written here:
// 512-byte headers, octal fields, checksum; two zero blocks at the end) from metadata.jsonl.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "camgraph/node_context.h"
#include "dataset.h"

namespace camgraph::dataset {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void octal(char* field, size_t width, uint64_t v) {
  // width - 1 octal digits, zero padded, NUL terminated.
  std::snprintf(field, width, "%0*llo", int(width - 1), static_cast<unsigned long long>(v));
}

}  // namespace

std::string ustar_header(const std::string& name, uint64_t size) {
  if (name.size() > 100) throw std::runtime_error("tar member name longer than 100 bytes: " + name);
  if (size > 077777777777ull) throw std::runtime_error("tar member larger than 8 GiB: " + name);
  char h[512];
  std::memset(h, 0, sizeof h);
  std::memcpy(h, name.data(), name.size());
  octal(h + 100, 8, 0644);           // mode
  octal(h + 108, 8, 0);              // uid
  octal(h + 116, 8, 0);              // gid
  octal(h + 124, 12, size);          // size
  octal(h + 136, 12, 0);             // mtime: 0, so shards are reproducible
  h[156] = '0';                      // regular file
  std::memcpy(h + 257, "ustar", 6);  // magic "ustar\0"
  std::memcpy(h + 263, "00", 2);     // version
  std::memcpy(h + 265, "camgraph", 8);
  std::memcpy(h + 297, "camgraph", 8);
  // Checksum: sum of the header bytes with the checksum field as spaces; 6 octal digits, NUL, space.
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  return std::string(h, 512);
}

void append_tar_member(std::string& tar, const std::string& name, const std::string& bytes) {
  tar += ustar_header(name, bytes.size());
  tar += bytes;
  tar.append((512 - bytes.size() % 512) % 512, '\0');
}

void export_execute(NodeContext& ctx) {
  const fs::path folder = ctx.output_path("folder");
  const fs::path meta = folder / "metadata.jsonl";
  if (!fs::exists(meta))
    ctx.fail("folder", "'" + meta.string() +
                           "' does not exist (run dataset.annotate, or `camgraph-cli dataset index` "
                           "for a sharded dataset)");
  const std::string format = ctx.param_string("format");
  const bool keep_failed = ctx.param_bool("include_qc_failed");
  const bool overwrite = ctx.param_bool("overwrite");
  const int shard_size = int(ctx.param_int("shard_size"));

  std::vector<json> items;
  int skipped_qc = 0, missing = 0, malformed = 0;
  {
    std::istringstream in(slurp(meta));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("file_name") || !j["file_name"].is_string()) {
        ++malformed;
        continue;
      }
      if (!keep_failed && j.value("qc_pass", true) == false) {
        ++skipped_qc;
        continue;
      }
      if (!fs::exists(folder / j["file_name"].get<std::string>())) {
        ctx.warn("video missing, item left out: " + j["file_name"].get<std::string>());
        ++missing;
        continue;
      }
      items.push_back(std::move(j));
    }
  }
  if (malformed) ctx.warn(std::to_string(malformed) + " malformed line(s) in metadata.jsonl left out");
  if (items.empty()) ctx.fail("folder", "no exportable items in '" + meta.string() + "'");

  json written = json::array();
  ctx.guard("folder", [&] {
    if (format == "cogvideox" || format == "both") {
      // CogVideoX's finetuning loader: line i of prompts.txt is the caption of the video on line i of
      // videos.txt (paths relative to the dataset folder); captions are one line each.
      std::string prompts, videos;
      for (const auto& j : items) {
        std::string text = j.value("text", "");
        std::replace(text.begin(), text.end(), '\n', ' ');
        std::replace(text.begin(), text.end(), '\r', ' ');
        prompts += text + "\n";
        videos += j["file_name"].get<std::string>() + "\n";
      }
      ctx.files().write(folder / "prompts.txt", prompts, overwrite);
      ctx.files().write(folder / "videos.txt", videos, overwrite);
      written.push_back("prompts.txt");
      written.push_back("videos.txt");
    }
    if (format == "webdataset" || format == "both") {
      // One sample per item: <key>.mp4 (or the video's extension), <key>.txt (caption), <key>.json (the
      // metadata line), <key>.poses.txt (RealEstate10K) and <key>.cameras.json when present. The key is
      // the id with dots replaced (WebDataset splits the key at the first dot).
      std::error_code ec;
      fs::create_directories(folder / "webdataset", ec);
      const int shards = (int(items.size()) + shard_size - 1) / shard_size;
      for (int s = 0; s < shards; ++s) {
        ctx.check_cancelled();
        std::string tar;
        for (int i = s * shard_size; i < std::min<int>(int(items.size()), (s + 1) * shard_size); ++i) {
          const json& j = items[size_t(i)];
          std::string key = j.value("id", fs::path(j["file_name"].get<std::string>()).stem().string());
          std::replace(key.begin(), key.end(), '.', '_');
          const fs::path video = folder / j["file_name"].get<std::string>();
          std::string ext = video.extension().string();
          append_tar_member(tar, key + ext, slurp(video));
          append_tar_member(tar, key + ".txt", j.value("text", "") + "\n");
          append_tar_member(tar, key + ".json", j.dump() + "\n");
          for (const auto& [field, suffix] : {std::pair<const char*, const char*>{"poses", ".poses.txt"},
                                              std::pair<const char*, const char*>{"cameras", ".cameras.json"}})
            if (j.contains(field) && j[field].is_string() && fs::exists(folder / j[field].get<std::string>()))
              append_tar_member(tar, key + suffix, slurp(folder / j[field].get<std::string>()));
        }
        tar.append(1024, '\0');
        char name[32];
        std::snprintf(name, sizeof name, "shard-%06d.tar", s);
        ctx.files().write(folder / "webdataset" / name, tar, overwrite);
        written.push_back(std::string("webdataset/") + name);
      }
    }
  });
  ctx.set_record("export", {{"items", items.size()},
                            {"skipped_qc_failed", skipped_qc},
                            {"skipped_missing_video", missing},
                            {"files", written}});
}

}  // namespace camgraph::dataset

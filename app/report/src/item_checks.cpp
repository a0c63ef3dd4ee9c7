// The files of one dataset item against its metadata line.
#include "item_checks.h"

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
#include "camgraph/formats/video_reader.h"
#endif

namespace camgraph::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uintmax_t kMaxCamerasBytes = uintmax_t(256) << 20;
constexpr size_t kMaxPoseLineBytes = 4096;

std::string text_of(const json& line, const char* key) {
  return line.contains(key) && line[key].is_string() ? line[key].get<std::string>() : "";
}

// folder / name, or "" when the name is absolute or climbs out of the folder.
fs::path inside(const fs::path& folder, const std::string& name) {
  const fs::path rel = fs::path(name).lexically_normal();
  if (rel.is_absolute() || rel.empty() || *rel.begin() == "..") return {};
  return folder / rel;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
void check_video(const fs::path& file, ReportItem& item, const ReportOptions& options, std::vector<Problem>& problems) {
  const std::string name = file.string();
  try {
    const video::VideoStreamInfo info = video::probe_video(name);
    if ((item.width && info.width != item.width) || (item.height && info.height != item.height))
      problems.push_back({item.id, name + ": the video is " + std::to_string(info.width) + "x" +
                                       std::to_string(info.height) + ", its metadata line says " +
                                       std::to_string(item.width) + "x" + std::to_string(item.height)});
    if (item.fps > 0 && info.fps > 0 && std::abs(info.fps - item.fps) > 1e-3 * item.fps)
      problems.push_back({item.id, name + ": the video plays at " + std::to_string(info.fps) +
                                       " fps, its metadata line says " + std::to_string(item.fps)});
    if (!options.decode_videos) return;  // the header checks only
    const int frames = item.frames;
    const std::array<long, 3> wanted = {0, frames / 2, frames - 1};
    std::vector<std::string> thumbs(3);
    const bool thumbnails = options.thumbnails && frames > 0;
    const size_t decoded = video::decode_video(
        name, thumbnails ? video::Pixels::Rgb24 : video::Pixels::None,
        [&](const video::FrameView& f) {
          for (size_t k = 0; k < 3; ++k)
            if (thumbnails && long(f.index) == wanted[k]) thumbs[k] = video::encode_jpeg(f, 5);
          return true;
        },
        {}, thumbnails ? options.thumbnail_width : 0, 0);
    if (frames > 0 && decoded != size_t(frames))
      problems.push_back({item.id, name + ": decodes to " + std::to_string(decoded) +
                                       " frames, its metadata line says " + std::to_string(frames)});
    if (thumbnails && !thumbs[0].empty()) item.thumbnails = thumbs;
  } catch (const video::VideoError& e) {
    problems.push_back({item.id, std::string(e.what()) + " (the video does not decode)"});
  }
}
#endif

void check_cameras(const fs::path& file, const ReportItem& item, std::vector<Problem>& problems) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec || size > kMaxCamerasBytes) {
    problems.push_back({item.id, file.string() + ": " + (ec ? "cannot be read" : "larger than 256 MiB")});
    return;
  }
  std::ifstream in(file, std::ios::binary);
  const json cams = json::parse(in, nullptr, false);
  if (!cams.is_object() || !cams.contains("frames") || !cams["frames"].is_array()) {
    problems.push_back({item.id, file.string() + ": not a camera file (a JSON object with a frames list)"});
    return;
  }
  if (item.frames > 0 && cams["frames"].size() != size_t(item.frames))
    problems.push_back({item.id, file.string() + ": has " + std::to_string(cams["frames"].size()) +
                                     " cameras, the metadata line says " + std::to_string(item.frames) + " frames"});
}

}  // namespace

bool read_bounded_line(std::istream& in, std::string& line, size_t max_bytes, bool& too_long) {
  line.clear();
  too_long = false;
  bool any = false;
  for (int c; (c = in.get()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') return true;
    if (line.size() < max_bytes) line.push_back(char(c));
    else too_long = true;
  }
  return any;
}

bool video_decoding_available() {
#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
  return true;
#else
  return false;
#endif
}

std::string check_poses_file(const fs::path& file, const std::string& id, int frames) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "cannot be read";
  std::string line;
  bool too_long = false;
  if (!read_bounded_line(in, line, kMaxPoseLineBytes, too_long)) return "is empty";
  if (trimmed(line) != id) return "line 1 is \"" + trimmed(line).substr(0, 80) + "\", not the item id " + id;
  long count = 0, previous_time = -1;
  while (read_bounded_line(in, line, kMaxPoseLineBytes, too_long)) {
    if (trimmed(line).empty()) continue;
    ++count;
    const std::string at = "line " + std::to_string(count + 1) + ": ";
    if (frames > 0 && count > frames) return "has more than the " + std::to_string(frames) + " frame lines";
    if (too_long) return at + "longer than " + std::to_string(kMaxPoseLineBytes) + " bytes";
    std::istringstream ss(line);
    std::vector<double> v;
    for (std::string tok; ss >> tok;) {
      char* end = nullptr;
      const double x = std::strtod(tok.c_str(), &end);
      if (end == tok.c_str() || *end != '\0' || !std::isfinite(x))
        return at + "\"" + tok.substr(0, 40) + "\" is not a finite number";
      v.push_back(x);
    }
    if (v.size() != 19) return at + std::to_string(v.size()) + " numbers, a RealEstate10K pose line has 19";
    if (long(v[0]) <= previous_time) return at + "the timestamp does not increase";
    previous_time = long(v[0]);
    if (v[1] <= 0 || v[2] <= 0) return at + "the focal lengths are not positive";
    // Rows of the rotation: v[7..9], v[11..13], v[15..17]; R R^T = I and det R = +1.
    const double R[3][3] = {{v[7], v[8], v[9]}, {v[11], v[12], v[13]}, {v[15], v[16], v[17]}};
    double worst = 0;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) {
        const double dot = R[a][0] * R[b][0] + R[a][1] * R[b][1] + R[a][2] * R[b][2];
        worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
      }
    const double det = R[0][0] * (R[1][1] * R[2][2] - R[1][2] * R[2][1]) -
                       R[0][1] * (R[1][0] * R[2][2] - R[1][2] * R[2][0]) +
                       R[0][2] * (R[1][0] * R[2][1] - R[1][1] * R[2][0]);
    if (worst > 1e-4 || det < 0)
      return at + "the rotation is not proper (|R R^T - I| = " + std::to_string(worst) + ", det " +
             std::to_string(det) + ")";
  }
  if (frames > 0 && count != frames)
    return "has " + std::to_string(count) + " frame lines, the metadata line says " + std::to_string(frames);
  return "";
}

std::string first_pose_line(const fs::path& folder, const json& line) {
  const fs::path file = inside(folder, text_of(line, "poses"));
  if (file.empty()) return "";
  std::ifstream in(file, std::ios::binary);
  std::string first, second;
  bool too_long = false;
  if (!read_bounded_line(in, first, kMaxPoseLineBytes, too_long) ||
      !read_bounded_line(in, second, kMaxPoseLineBytes, too_long) || too_long)
    return "";
  return trimmed(second);
}

void check_item(const fs::path& folder, const json& line, ReportItem& item, const ReportOptions& options,
                std::vector<Problem>& problems) {
  std::error_code ec;
  auto file_of = [&](const char* key, bool required) -> fs::path {
    const std::string name = text_of(line, key);
    if (name.empty()) {
      if (required) problems.push_back({item.id, item.id + ": its metadata line has no " + std::string(key)});
      return {};
    }
    const fs::path file = inside(folder, name);
    if (file.empty())
      problems.push_back({item.id, item.id + ": " + key + " \"" + name + "\" is outside the dataset folder"});
    else if (!fs::is_regular_file(file, ec)) problems.push_back({item.id, file.string() + " is missing"});
    else return file;
    return {};
  };
  if (const fs::path video = file_of("file_name", true); !video.empty()) {
#ifdef CAMGRAPH_HAVE_VIDEO_FORMATS
    check_video(video, item, options, problems);
#else
    (void)options;
#endif
    // The caption beside the video (videos/<id>.txt), when the folder has one, says the same.
    const fs::path caption = fs::path(video).replace_extension(".txt");
    if (fs::is_regular_file(caption, ec) && fs::file_size(caption, ec) < (1u << 20)) {
      std::ifstream in(caption, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (trimmed(ss.str()) != trimmed(item.caption))
        problems.push_back({item.id, caption.string() + ": differs from the metadata line's text"});
    }
  }
  if (const fs::path poses = file_of("poses", true); !poses.empty())
    if (const std::string p = check_poses_file(poses, item.id, item.frames); !p.empty())
      problems.push_back({item.id, poses.string() + ": " + p});
  if (const fs::path cameras = file_of("cameras", false); !cameras.empty()) check_cameras(cameras, item, problems);
  if (item.frames <= 0) problems.push_back({item.id, item.id + ": its metadata line has no positive frame count"});
  if (item.fps <= 0) problems.push_back({item.id, item.id + ": its metadata line has no positive fps"});
}

}  // namespace camgraph::report

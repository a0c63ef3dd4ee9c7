// COLMAP sparse model readers (binary and text).
#include "colmap.h"

#include <camgraph/output_files.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace camgraph::splat {
namespace fs = std::filesystem;

namespace {

// COLMAP's camera models (ids and parameter counts from its documentation).
const ColmapModelInfo kModels[] = {
    {0, "SIMPLE_PINHOLE", 3, true},
    {1, "PINHOLE", 4, true},
    {2, "SIMPLE_RADIAL", 4, true},
    {3, "RADIAL", 5, true},
    {4, "OPENCV", 8, true},
    {5, "OPENCV_FISHEYE", 8, false},
    {6, "FULL_OPENCV", 12, false},
    {7, "FOV", 5, false},
    {8, "SIMPLE_RADIAL_FISHEYE", 4, false},
    {9, "RADIAL_FISHEYE", 5, false},
    {10, "THIN_PRISM_FISHEYE", 12, false},
};

std::string fname(const fs::path& p) { return p.string(); }  // errors name the whole path

// Bounds-checked little-endian reader over a whole file.
class BinReader {
 public:
  BinReader(const fs::path& file) : file_(file), data_(camgraph::read_file(file)) {}

  // `what` describes the record being read, for truncation errors.
  template <class T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_cstring(const std::string& what) {
    const size_t end = data_.find('\0', pos_);
    if (end == std::string::npos)
      throw std::runtime_error(fname(file_) + ": " + what + " is truncated: name has no terminating NUL (" +
                               std::to_string(data_.size() - pos_) + " bytes left at offset " + std::to_string(pos_) +
                               ")");
    std::string s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  void skip(uint64_t n, const std::string& what) {
    need(n, what);
    pos_ += n;
  }
  void need(uint64_t n, const std::string& what) const {
    if (n > data_.size() - pos_)
      throw std::runtime_error(fname(file_) + ": " + what + " is truncated: expected " + std::to_string(n) +
                               " more bytes at offset " + std::to_string(pos_) + ", only " +
                               std::to_string(data_.size() - pos_) + " available");
  }
  size_t remaining() const { return data_.size() - pos_; }
  // Record count; `reserve_hint` is capped by what the remaining bytes could hold.
  uint64_t count(const std::string& what, uint64_t min_record_bytes, size_t* reserve_hint) {
    const uint64_t n = get<uint64_t>(what + " count");
    *reserve_hint = size_t(std::min<uint64_t>(n, remaining() / min_record_bytes));
    return n;
  }

 private:
  fs::path file_;
  std::string data_;
  size_t pos_ = 0;
};

std::string record_name(const char* kind, uint64_t index, uint64_t total) {
  return std::string(kind) + " record " + std::to_string(index) + " of " + std::to_string(total);
}

ColmapCamera make_camera(const fs::path& file, int id, const ColmapModelInfo* info, const std::string& model_text,
                         int64_t w, int64_t h) {
  if (!info || !info->supported) {
    std::string model = info ? std::string(info->name) + " (id " + std::to_string(info->id) + ")" : model_text;
    throw std::runtime_error(fname(file) + ": camera " + std::to_string(id) + " has unsupported model " + model +
                             "; supported: " + colmap_supported_models());
  }
  if (w <= 0 || h <= 0 || w > 1000000 || h > 1000000)
    throw std::runtime_error(fname(file) + ": camera " + std::to_string(id) + " has invalid size " + std::to_string(w) +
                             "x" + std::to_string(h));
  ColmapCamera c;
  c.id = id;
  c.model = info->name;
  c.width = int(w);
  c.height = int(h);
  return c;
}

// Values every reader checks, binary or text: `where` names the file and record or line.
void check_camera_params(const ColmapCamera& c, const ColmapModelInfo& info, const std::string& where) {
  for (size_t k = 0; k < c.params.size(); ++k)
    if (!std::isfinite(c.params[k]))
      throw std::runtime_error(where + ": camera " + std::to_string(c.id) + " parameter " + std::to_string(k) +
                               " is not a finite number");
  const bool two_focals = info.name == std::string("PINHOLE") || info.name == std::string("OPENCV");
  for (size_t k = 0; k < (two_focals ? 2u : 1u) && k < c.params.size(); ++k)
    if (!(c.params[k] > 0))
      throw std::runtime_error(where + ": camera " + std::to_string(c.id) + " focal length " +
                               std::to_string(c.params[k]) + " must be positive");
}

void check_pose(const ColmapImage& im, const std::string& where) {
  double norm2 = 0;
  for (double q : im.qvec) norm2 += q * q;
  for (double v : im.qvec)
    if (!std::isfinite(v))
      throw std::runtime_error(where + ": image " + std::to_string(im.id) + " has a non-finite quaternion");
  for (double v : im.tvec)
    if (!std::isfinite(v))
      throw std::runtime_error(where + ": image " + std::to_string(im.id) + " has a non-finite translation");
  if (!(norm2 > 1e-12) || !std::isfinite(norm2))
    throw std::runtime_error(where + ": image " + std::to_string(im.id) + " has a zero or unusable quaternion");
}

void check_point(const ColmapPoint& p, const std::string& where) {
  for (double v : p.xyz)
    if (!std::isfinite(v))
      throw std::runtime_error(where + ": point " + std::to_string(p.id) + " has a non-finite position");
}

// Text helpers: trimmed, non-comment lines.
std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

[[noreturn]] void text_error(const fs::path& file, int64_t line_no, const std::string& msg) {
  throw std::runtime_error(fname(file) + ":" + std::to_string(line_no) + ": " + msg);
}

template <class T>
T parse_num(std::istringstream& ss, const fs::path& file, int64_t line_no, const char* field) {
  T v;
  if (!(ss >> v)) text_error(file, line_no, std::string("missing or invalid ") + field);
  return v;
}

}  // namespace

const ColmapModelInfo* colmap_model_by_id(int id) {
  for (const auto& m : kModels)
    if (m.id == id) return &m;
  return nullptr;
}

const ColmapModelInfo* colmap_model_by_name(const std::string& name) {
  for (const auto& m : kModels)
    if (name == m.name) return &m;
  return nullptr;
}

std::string colmap_supported_models() {
  std::string s;
  for (const auto& m : kModels)
    if (m.supported) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

DistortedCamera ColmapCamera::to_camera() const {
  DistortedCamera out;
  auto& c = out.camera;
  auto& d = out.distortion;
  c.width = width;
  c.height = height;
  const auto& p = params;
  const ColmapModelInfo* info = colmap_model_by_name(model);
  if (!info || !info->supported)
    throw std::runtime_error("COLMAP camera " + std::to_string(id) + ": unsupported model " + model +
                             "; supported: " + colmap_supported_models());
  if (int(p.size()) != info->num_params)
    throw std::runtime_error("COLMAP camera " + std::to_string(id) + " (" + model + ") has " +
                             std::to_string(p.size()) + " parameters, expected " + std::to_string(info->num_params));
  if (model == "SIMPLE_PINHOLE") {
    c.fx = c.fy = p[0], c.cx = p[1], c.cy = p[2];
  } else if (model == "PINHOLE") {
    c.fx = p[0], c.fy = p[1], c.cx = p[2], c.cy = p[3];
  } else if (model == "SIMPLE_RADIAL") {
    c.fx = c.fy = p[0], c.cx = p[1], c.cy = p[2];
    d.model = DistortionModel::OpenCV, d.k1 = p[3];
  } else if (model == "RADIAL") {
    c.fx = c.fy = p[0], c.cx = p[1], c.cy = p[2];
    d.model = DistortionModel::OpenCV, d.k1 = p[3], d.k2 = p[4];
  } else {  // OPENCV
    c.fx = p[0], c.fy = p[1], c.cx = p[2], c.cy = p[3];
    d.model = DistortionModel::OpenCV, d.k1 = p[4], d.k2 = p[5], d.p1 = p[6], d.p2 = p[7];
  }
  return out;
}

std::array<double, 9> quat_to_rotation(const std::array<double, 4>& q) {
  const double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  if (!(n > 0)) throw std::runtime_error("quaternion has zero length");
  const double w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n;
  return {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
          2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
          2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
}

camgraph::Mat4 ColmapImage::world_to_camera() const {
  const auto r = quat_to_rotation(qvec);
  camgraph::Mat4 m = camgraph::mat4_identity();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m[i * 4 + j] = r[i * 3 + j];
    m[i * 4 + 3] = tvec[i];
  }
  return m;
}

// ---- binary ------------------------------------------------------------------------------

std::map<int, ColmapCamera> read_colmap_cameras_bin(const fs::path& file) {
  BinReader r(file);
  size_t hint = 0;
  const uint64_t n = r.count("camera", 24, &hint);
  std::map<int, ColmapCamera> out;
  for (uint64_t i = 0; i < n; ++i) {
    const std::string what = record_name("camera", i, n);
    const int id = r.get<int32_t>(what);
    const int model_id = r.get<int32_t>(what);
    const uint64_t w = r.get<uint64_t>(what), h = r.get<uint64_t>(what);
    const ColmapModelInfo* info = colmap_model_by_id(model_id);
    ColmapCamera c = make_camera(file, id, info, "with unknown model id " + std::to_string(model_id), int64_t(w),
                                 int64_t(h));
    for (int k = 0; k < info->num_params; ++k)
      c.params.push_back(r.get<double>(what + " (camera " + std::to_string(id) + ") params"));
    check_camera_params(c, *info, fname(file) + ": " + what);
    if (!out.emplace(id, c).second)
      throw std::runtime_error(fname(file) + ": camera id " + std::to_string(id) + " appears twice");
  }
  return out;
}

std::vector<ColmapImage> read_colmap_images_bin(const fs::path& file) {
  BinReader r(file);
  // id + qvec + tvec + camera id + NUL + point count
  size_t hint = 0;
  const uint64_t n = r.count("image", 4 + 7 * 8 + 4 + 1 + 8, &hint);
  std::vector<ColmapImage> out;
  out.reserve(hint);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string what = record_name("image", i, n);
    ColmapImage im;
    im.id = r.get<int32_t>(what);
    for (auto& v : im.qvec) v = r.get<double>(what);
    for (auto& v : im.tvec) v = r.get<double>(what);
    im.camera_id = r.get<int32_t>(what);
    im.name = r.get_cstring(what);
    const std::string what2 = what + " (image " + std::to_string(im.id) + " '" + im.name + "')";
    const uint64_t np = r.get<uint64_t>(what2);
    r.need(np > UINT64_MAX / 24 ? UINT64_MAX : np * 24, what2 + " 2D points (" + std::to_string(np) + " x 24 bytes)");
    r.skip(np * 24, what2);
    im.num_points2d = int64_t(np);
    check_pose(im, fname(file) + ": " + what);
    out.push_back(std::move(im));
  }
  return out;
}

std::vector<ColmapPoint> read_colmap_points_bin(const fs::path& file) {
  BinReader r(file);
  // id + xyz + rgb + error + track length
  size_t hint = 0;
  const uint64_t n = r.count("point", 8 + 24 + 3 + 8 + 8, &hint);
  std::vector<ColmapPoint> out;
  out.reserve(hint);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string what = record_name("point", i, n);
    ColmapPoint p;
    p.id = int64_t(r.get<uint64_t>(what));
    for (auto& v : p.xyz) v = r.get<double>(what);
    for (auto& v : p.rgb) v = r.get<uint8_t>(what);
    p.error = r.get<double>(what);
    const uint64_t track = r.get<uint64_t>(what);
    r.need(track > UINT64_MAX / 8 ? UINT64_MAX : track * 8, what + " track (" + std::to_string(track) + " x 8 bytes)");
    r.skip(track * 8, what);
    check_point(p, fname(file) + ": " + what);
    out.push_back(p);
  }
  return out;
}

// ---- text --------------------------------------------------------------------------------

std::map<int, ColmapCamera> read_colmap_cameras_txt(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open file");
  std::map<int, ColmapCamera> out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    const int id = parse_num<int>(ss, file, line_no, "CAMERA_ID");
    std::string model;
    if (!(ss >> model)) text_error(file, line_no, "missing MODEL");
    const int64_t w = parse_num<int64_t>(ss, file, line_no, "WIDTH");
    const int64_t h = parse_num<int64_t>(ss, file, line_no, "HEIGHT");
    const ColmapModelInfo* info = colmap_model_by_name(model);
    ColmapCamera c = make_camera(file, id, info, model, w, h);
    double v;
    while (ss >> v) c.params.push_back(v);
    if (!ss.eof()) text_error(file, line_no, "camera " + std::to_string(id) + ": invalid parameter value");
    if (int(c.params.size()) != info->num_params)
      text_error(file, line_no,
                 "camera " + std::to_string(id) + " (" + model + ") has " + std::to_string(c.params.size()) +
                     " parameters, expected " + std::to_string(info->num_params));
    check_camera_params(c, *info, fname(file) + ":" + std::to_string(line_no));
    if (!out.emplace(id, c).second) text_error(file, line_no, "camera id " + std::to_string(id) + " appears twice");
  }
  return out;
}

std::vector<ColmapImage> read_colmap_images_txt(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open file");
  std::vector<ColmapImage> out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    // IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, then one line of 2D points (may be empty).
    std::istringstream ss(line);
    ColmapImage im;
    im.id = parse_num<int>(ss, file, line_no, "IMAGE_ID");
    const char* qn[] = {"QW", "QX", "QY", "QZ"};
    const char* tn[] = {"TX", "TY", "TZ"};
    for (int k = 0; k < 4; ++k) im.qvec[k] = parse_num<double>(ss, file, line_no, qn[k]);
    for (int k = 0; k < 3; ++k) im.tvec[k] = parse_num<double>(ss, file, line_no, tn[k]);
    im.camera_id = parse_num<int>(ss, file, line_no, "CAMERA_ID");
    std::getline(ss >> std::ws, im.name);
    im.name = trim(im.name);
    if (im.name.empty()) text_error(file, line_no, "image " + std::to_string(im.id) + " has no NAME");
    check_pose(im, fname(file) + ":" + std::to_string(line_no));
    std::string pts;
    if (std::getline(in, pts)) {
      ++line_no;
      std::istringstream ps(pts);
      int64_t tokens = 0;
      std::string tok;
      while (ps >> tok) ++tokens;
      if (tokens % 3 != 0)
        text_error(file, line_no,
                   "image " + std::to_string(im.id) + ": 2D point line has " + std::to_string(tokens) +
                       " values, not a multiple of 3 (X Y POINT3D_ID)");
      im.num_points2d = tokens / 3;
    }
    out.push_back(std::move(im));
  }
  return out;
}

std::vector<ColmapPoint> read_colmap_points_txt(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot open file");
  std::vector<ColmapPoint> out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    ColmapPoint p;
    p.id = parse_num<int64_t>(ss, file, line_no, "POINT3D_ID");
    const char* xn[] = {"X", "Y", "Z"};
    const char* cn[] = {"R", "G", "B"};
    for (int k = 0; k < 3; ++k) p.xyz[k] = parse_num<double>(ss, file, line_no, xn[k]);
    for (int k = 0; k < 3; ++k) {
      const int v = parse_num<int>(ss, file, line_no, cn[k]);
      if (v < 0 || v > 255)
        text_error(file, line_no, std::string(cn[k]) + " = " + std::to_string(v) + " is outside 0..255");
      p.rgb[k] = uint8_t(v);
    }
    p.error = parse_num<double>(ss, file, line_no, "ERROR");
    check_point(p, fname(file) + ":" + std::to_string(line_no));
    out.push_back(p);
  }
  return out;
}

// ---- folder ------------------------------------------------------------------------------

bool is_colmap_model_folder(const fs::path& folder) {
  return fs::is_regular_file(folder / "cameras.bin") || fs::is_regular_file(folder / "cameras.txt");
}

ColmapModel read_colmap_model(const fs::path& folder) {
  ColmapModel m;
  const bool bin = fs::is_regular_file(folder / "cameras.bin");
  const std::string ext = bin ? ".bin" : ".txt";
  if (!bin && !fs::is_regular_file(folder / "cameras.txt"))
    throw std::runtime_error(folder.string() + ": not a COLMAP model folder (no cameras.bin or cameras.txt)");
  for (const char* f : {"images", "points3D"})
    if (!fs::is_regular_file(folder / (std::string(f) + ext)))
      throw std::runtime_error(folder.string() + ": COLMAP model has cameras" + ext + " but no " + f + ext);
  if (bin) {
    m.cameras = read_colmap_cameras_bin(folder / "cameras.bin");
    m.images = read_colmap_images_bin(folder / "images.bin");
    m.points = read_colmap_points_bin(folder / "points3D.bin");
  } else {
    m.cameras = read_colmap_cameras_txt(folder / "cameras.txt");
    m.images = read_colmap_images_txt(folder / "images.txt");
    m.points = read_colmap_points_txt(folder / "points3D.txt");
  }
  for (const auto& im : m.images)
    if (!m.cameras.count(im.camera_id))
      throw std::runtime_error((folder / ("images" + ext)).string() + ": image " + std::to_string(im.id) + " '" +
                               im.name + "' refers to camera " + std::to_string(im.camera_id) + ", which cameras" +
                               ext + " does not define");
  return m;
}

}  // namespace camgraph::splat

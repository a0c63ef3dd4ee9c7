#include "test_util.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "dataset.h"

namespace splat_test {

TempDir::TempDir(const std::string& tag) {
  std::random_device rd;
  path = fs::temp_directory_path() / ("camgraph_splat_io_" + tag + "_" + std::to_string(rd()));
  fs::remove_all(path);
  fs::create_directories(path);
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}
void be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xFF));
}
void chunk(std::string& png, const char* type, const std::string& data) {
  be32(png, uint32_t(data.size()));
  const std::string td = std::string(type, 4) + data;
  png += td;
  be32(png, crc32(td));
}
template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
}  // namespace

void write_png(const fs::path& p, int w, int h, const std::vector<uint8_t>& rgb) {
  std::string raw;  // filter byte 0 + row
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);
    raw.append(reinterpret_cast<const char*>(rgb.data()) + size_t(y) * w * 3, size_t(w) * 3);
  }
  std::string z = "\x78\x01";  // zlib header, stored deflate blocks
  for (size_t off = 0; off < raw.size() || off == 0; off += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - off);
    z.push_back(off + n >= raw.size() ? 1 : 0);
    z.push_back(char(n & 0xFF)), z.push_back(char(n >> 8));
    z.push_back(char(~n & 0xFF)), z.push_back(char((~n >> 8) & 0xFF));
    z.append(raw, off, n);
    if (off + n >= raw.size()) break;
  }
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  be32(z, (b << 16) | a);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  be32(ihdr, uint32_t(w)), be32(ihdr, uint32_t(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  write_bytes(p, png);
}

void write_colmap_bin(const fs::path& folder, const camgraph::splat::ColmapModel& m,
                      const std::vector<std::vector<int32_t>>& tracks) {
  std::string c;
  put<uint64_t>(c, m.cameras.size());
  for (const auto& [id, cam] : m.cameras) {
    put<int32_t>(c, id);
    put<int32_t>(c, camgraph::splat::colmap_model_by_name(cam.model)->id);
    put<uint64_t>(c, uint64_t(cam.width));
    put<uint64_t>(c, uint64_t(cam.height));
    for (double v : cam.params) put<double>(c, v);
  }
  write_bytes(folder / "cameras.bin", c);
  std::string im;
  put<uint64_t>(im, m.images.size());
  for (const auto& i : m.images) {
    put<int32_t>(im, i.id);
    for (double v : i.qvec) put<double>(im, v);
    for (double v : i.tvec) put<double>(im, v);
    put<int32_t>(im, i.camera_id);
    im += i.name;
    im.push_back('\0');
    put<uint64_t>(im, uint64_t(i.num_points2d));
    for (int64_t k = 0; k < i.num_points2d; ++k) {
      put<double>(im, 1.5 * k), put<double>(im, 2.5 * k), put<int64_t>(im, k % 3 == 0 ? -1 : k);
    }
  }
  write_bytes(folder / "images.bin", im);
  std::string pt;
  put<uint64_t>(pt, m.points.size());
  for (size_t k = 0; k < m.points.size(); ++k) {
    const auto& p = m.points[k];
    put<uint64_t>(pt, uint64_t(p.id));
    for (double v : p.xyz) put<double>(pt, v);
    for (uint8_t v : p.rgb) put<uint8_t>(pt, v);
    put<double>(pt, p.error);
    const std::vector<int32_t> tr = k < tracks.size() ? tracks[k] : std::vector<int32_t>{};
    put<uint64_t>(pt, tr.size() / 2);
    for (size_t t = 0; t + 1 < tr.size(); t += 2) put<int32_t>(pt, tr[t]), put<int32_t>(pt, tr[t + 1]);
  }
  write_bytes(folder / "points3D.bin", pt);
}

void write_colmap_txt(const fs::path& folder, const camgraph::splat::ColmapModel& m) {
  char buf[64];
  auto num = [&](double v) {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  std::string c = "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n";
  for (const auto& [id, cam] : m.cameras) {
    c += std::to_string(id) + " " + cam.model + " " + std::to_string(cam.width) + " " + std::to_string(cam.height);
    for (double v : cam.params) c += " " + num(v);
    c += "\n";
  }
  write_bytes(folder / "cameras.txt", c);
  std::string im = "# Image list with two lines of data per image:\n";
  for (const auto& i : m.images) {
    im += std::to_string(i.id);
    for (double v : i.qvec) im += " " + num(v);
    for (double v : i.tvec) im += " " + num(v);
    im += " " + std::to_string(i.camera_id) + " " + i.name + "\n";
    for (int64_t k = 0; k < i.num_points2d; ++k)
      im += (k ? " " : "") + num(1.5 * k) + " " + num(2.5 * k) + " " + std::to_string(k % 3 == 0 ? -1 : k);
    im += "\n";  // may be an empty line
  }
  write_bytes(folder / "images.txt", im);
  std::string pt = "# 3D point list\n";
  for (const auto& p : m.points) {
    pt += std::to_string(p.id);
    for (double v : p.xyz) pt += " " + num(v);
    for (uint8_t v : p.rgb) pt += " " + std::to_string(int(v));
    pt += " " + num(p.error) + " 1 0 2 5\n";
  }
  write_bytes(folder / "points3D.txt", pt);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

fs::path fox_dir() {
  const fs::path shared = camgraph::splat::shared_data_dir(CAMGRAPH_SOURCE_DIR);
  if (shared.empty()) return {};
  const fs::path fox = shared / "data" / "fox";
  return fs::is_regular_file(fox / "transforms.json") ? fox : fs::path{};
}

}  // namespace splat_test

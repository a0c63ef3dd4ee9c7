// Image size from PNG/JPEG headers, without decoding.
#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_io.h"

namespace camgraph::splat {

std::optional<std::pair<int, int>> read_image_header_size(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open image");
  auto u8 = [&]() -> int {
    const int c = in.get();
    if (c == EOF) throw std::runtime_error(path.string() + ": image header is truncated");
    return c;
  };
  auto be16 = [&]() {
    const int a = u8();
    return (a << 8) | u8();
  };
  unsigned char sig[8] = {0};
  in.read(reinterpret_cast<char*>(sig), 8);
  if (in.gcount() == 8 && sig[0] == 0x89 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G') {
    unsigned char b[16];
    in.read(reinterpret_cast<char*>(b), 16);  // length, "IHDR", width, height
    if (in.gcount() != 16 || std::string(reinterpret_cast<char*>(b) + 4, 4) != "IHDR")
      throw std::runtime_error(path.string() + ": corrupt PNG header (no IHDR chunk)");
    auto be32 = [&](int o) {
      return int64_t(b[o]) << 24 | int64_t(b[o + 1]) << 16 | int64_t(b[o + 2]) << 8 | b[o + 3];
    };
    const int64_t w = be32(8), h = be32(12);
    if (w <= 0 || h <= 0 || w > INT32_MAX || h > INT32_MAX)
      throw std::runtime_error(path.string() + ": PNG header declares an invalid size " + std::to_string(w) + "x" +
                               std::to_string(h));
    return std::pair<int, int>{int(w), int(h)};
  }
  if (in.gcount() >= 2 && sig[0] == 0xFF && sig[1] == 0xD8) {
    in.seekg(2);
    while (true) {
      int m = u8();
      if (m != 0xFF) throw std::runtime_error(path.string() + ": corrupt JPEG header (expected a marker)");
      while (m == 0xFF) m = u8();
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
      if (m == 0xD9 || m == 0xDA) throw std::runtime_error(path.string() + ": JPEG has no frame header (SOF)");
      const int len = be16();
      if (len < 2) throw std::runtime_error(path.string() + ": corrupt JPEG segment length");
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        u8();  // precision
        const int h = be16(), w = be16();
        if (w <= 0 || h <= 0)
          throw std::runtime_error(path.string() + ": JPEG frame header declares an invalid size " + std::to_string(w) +
                                   "x" + std::to_string(h));
        return std::pair<int, int>{w, h};
      }
      in.seekg(len - 2, std::ios::cur);
    }
  }
  return std::nullopt;
}

std::pair<int, int> read_image_size(const std::filesystem::path& path) {
  if (const auto size = read_image_header_size(path)) return *size;
  if (have_image_decoder()) {
    // Other formats: decode (slow, rare).
    camgraph::Camera unused;
    DistortedCamera none;
    at::Tensor img = load_undistorted_image(path, none, 1, &unused);
    return {int(img.size(1)), int(img.size(0))};
  }
  throw std::runtime_error(path.string() +
                           ": cannot read the image size (not PNG or JPEG, and this build has no "
                           "image decoder (OpenCV)); give 'w' and 'h'");
}

}  // namespace camgraph::splat

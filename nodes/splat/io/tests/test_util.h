// Test helpers: temp folders, a tiny PNG writer, a test-only COLMAP writer.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "colmap.h"

namespace splat_test {
namespace fs = std::filesystem;

// A fresh empty folder under the system temp dir, removed by the destructor.
struct TempDir {
  explicit TempDir(const std::string& tag);
  ~TempDir();
  fs::path path;
};

void write_bytes(const fs::path& p, const std::string& bytes);
std::string read_bytes(const fs::path& p);

// Uncompressed 8-bit RGB PNG; rgb is row-major [h][w][3].
void write_png(const fs::path& p, int w, int h, const std::vector<uint8_t>& rgb);

// Test-only COLMAP writers (the library only reads).
void write_colmap_bin(const fs::path& folder, const camgraph::splat::ColmapModel& m,
                      const std::vector<std::vector<int32_t>>& tracks = {});
void write_colmap_txt(const fs::path& folder, const camgraph::splat::ColmapModel& m);

// The message of the std::runtime_error that f throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// The shared fox data folder, or empty.
fs::path fox_dir();

}  // namespace splat_test

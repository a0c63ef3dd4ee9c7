// libFuzzer harness: transforms.json (nodes/splat/io/transforms.cpp: read_transforms). The input is
// written as transforms.json in an empty folder, so relative image paths find nothing. Documented
// outcome: std::runtime_error naming the file.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "fuzz_support.h"
#include "splat/io/transforms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("camgraph-transforms-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  const fs::path path = dir / "transforms.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    if (!out) return 0;
  }
  camgraph::fuzz::expect_documented<std::runtime_error>(path.string(), [&] {
    const camgraph::splat::TransformsScene s = camgraph::splat::read_transforms(path);
    for (const auto& f : s.frames) {
      const auto& c = f.camera.camera;
      if (c.width <= 0 || c.height <= 0 || !(c.fx > 0) || !(c.fy > 0) || !std::isfinite(c.cx)) std::abort();
    }
  });
  return 0;
}

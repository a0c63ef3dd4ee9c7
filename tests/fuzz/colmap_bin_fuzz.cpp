// libFuzzer harness: the COLMAP binary readers (nodes/splat/io/colmap.cpp): the input is read as
// cameras.bin, images.bin and points3D.bin in turn. Documented outcome: std::runtime_error naming
// the file.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "fuzz_support.h"
#include "reader_file.h"
#include "splat/io/colmap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using camgraph::fuzz::expect_documented;
  namespace s = camgraph::splat;
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  expect_documented<std::runtime_error>(file.path(), [&] {
    for (const auto& [id, c] : s::read_colmap_cameras_bin(file.path())) {
      if (c.width <= 0 || c.height <= 0) std::abort();
      (void)c.to_camera();  // every camera the reader accepts converts
    }
  });
  expect_documented<std::runtime_error>(file.path(), [&] {
    for (const auto& im : s::read_colmap_images_bin(file.path()))
      for (double v : im.world_to_camera())
        if (!std::isfinite(v)) std::abort();  // accepted poses are usable
  });
  expect_documented<std::runtime_error>(file.path(), [&] {
    for (const auto& p : s::read_colmap_points_bin(file.path()))
      for (double v : p.xyz)
        if (!std::isfinite(v)) std::abort();
  });
  return 0;
}

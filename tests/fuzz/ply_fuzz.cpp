// libFuzzer harness: the PLY reader (nodes/splat/io/ply.cpp), as a 3DGS file and as a point cloud.
// Documented outcome: std::runtime_error naming the file.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "fuzz_support.h"
#include "reader_file.h"
#include "splat/io/ply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using camgraph::fuzz::expect_documented;
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  expect_documented<std::runtime_error>(file.path(), [&] {
    const camgraph::splat::GaussianSet g = camgraph::splat::read_gaussian_ply(file.path());
    g.validate("ply_fuzz");  // what the reader promises: consistent shapes
  });
  expect_documented<std::runtime_error>(file.path(), [&] {
    const camgraph::splat::PointCloud pc = camgraph::splat::read_point_cloud_ply(file.path());
    if (pc.xyz.dim() != 2 || pc.xyz.size(1) != 3) std::abort();
    if (pc.colours.defined() && pc.colours.sizes() != pc.xyz.sizes()) std::abort();
  });
  return 0;
}

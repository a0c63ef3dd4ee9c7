// libFuzzer harness: image sizes from PNG / JPEG headers without decoding
// (nodes/splat/io/image_size.cpp: read_image_header_size), which transforms.json and COLMAP scenes
// use to size their cameras. Documented outcomes: a size, "not a PNG or JPEG" (nullopt), or
// std::runtime_error naming the file; a size is positive.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "fuzz_support.h"
#include "reader_file.h"
#include "splat/io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    const auto wh = camgraph::splat::read_image_header_size(file.path());
    if (wh && (wh->first <= 0 || wh->second <= 0)) std::abort();
  });
  return 0;
}

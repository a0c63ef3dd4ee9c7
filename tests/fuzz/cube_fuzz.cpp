// libFuzzer harness: the .cube LUT reader (nodes/grade/lut.cpp), then the LUT applied to a few
// pixels (NaN and infinite ones included). Documented outcome: std::runtime_error naming the file.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "fuzz_support.h"
#include "grade/lut.h"
#include "reader_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    camgraph::grade::CubeLut lut = camgraph::grade::CubeLut::load(file.path());
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (bool tri : {false, true}) {
      lut.trilinear = tri;
      float px[15] = {0, 0, 0, 1, 1, 1, 0.3f, 0.6f, 0.9f, nan, inf, -inf, -5, 7, 0.5f};
      lut.apply(px, 5);
      for (float v : px)
        if (!std::isfinite(v)) std::abort();  // a table of finite values gives finite pixels
    }
  });
  return 0;
}

// libFuzzer harness: the ONNX protobuf walk (formats/model/src/onnx_summary.cpp) that the matting and
// depth families run before OpenCV's importer. Documented outcome: std::runtime_error naming the file.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "camgraph/formats/onnx_summary.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  camgraph::fuzz::expect_documented<std::runtime_error>(camgraph::fuzz::kSource, [&] {
    const camgraph::OnnxSummary s = camgraph::inspect_onnx(bytes, camgraph::fuzz::kSource);
    // What the walk promises on success.
    if (s.outputs.empty() || s.nodes == 0) std::abort();
  });
  return 0;
}

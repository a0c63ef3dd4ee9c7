// libFuzzer harness: torch.save zip checkpoints (formats/model/src: zip reader, restricted
// unpickler, tensor rebuild) through load_torch_checkpoint_bytes. Documented outcome:
// std::runtime_error naming the file.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "camgraph/formats/torch_checkpoint.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  camgraph::CheckpointOptions options;
  options.allow_unknown_globals = size % 2 == 1;  // both paths of the global check, chosen by the input
  camgraph::fuzz::expect_documented<std::runtime_error>(camgraph::fuzz::kSource, [&] {
    const auto tensors = camgraph::load_torch_checkpoint_bytes(bytes, camgraph::fuzz::kSource, options);
    // What the reader promises on success: contiguous CPU tensors.
    for (const auto& [name, t] : tensors)
      if (!t.is_contiguous() || t.device().type() != c10::kCPU) std::abort();
  });
  return 0;
}

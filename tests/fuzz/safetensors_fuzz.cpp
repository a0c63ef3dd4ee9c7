// libFuzzer harness: the safetensors reader (graph-engine/src/safetensors.cpp), from bytes
// (safetensors_parse) and from a file (SafetensorsReader, memory-mapped). Documented outcome:
// std::runtime_error naming the file.
#include <ATen/ATen.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "camgraph/safetensors.h"
#include "fuzz_support.h"

namespace {

// Every tensor the reader returns must match the header's byte range.
void check(const camgraph::SafetensorsFile& f) {
  for (const auto& [name, t] : f.tensors)
    if (!t.is_contiguous() || t.device().type() != c10::kCPU) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using camgraph::fuzz::expect_documented;
  using camgraph::fuzz::kSource;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  expect_documented<std::runtime_error>(kSource, [&] { check(camgraph::safetensors_parse(bytes, kSource)); });

  // The memory-mapped reader, over the same bytes in an anonymous file.
  const int fd = ::memfd_create("safetensors-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size == 0 || ::write(fd, data, size) == ssize_t(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    expect_documented<std::runtime_error>(path, [&] {
      camgraph::SafetensorsReader r(path);
      for (const auto& [name, info] : r.tensors()) {
        const at::Tensor t = r.get(name);
        if (uint64_t(t.nbytes()) != info.end - info.begin) std::abort();
      }
    });
  }
  ::close(fd);
  return 0;
}

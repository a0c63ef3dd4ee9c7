// libFuzzer harness: the safetensors reader (graph-engine/src/safetensors.cpp), from bytes
// (safetensors_parse) and from a file (SafetensorsReader, memory-mapped). Documented outcome:
// std::runtime_error naming the file.
#include <ATen/ATen.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "camgraph/safetensors.h"
#include "fuzz_support.h"

namespace {

// What the reader returns is contiguous CPU tensors that the writer writes back to a file the
// reader reads to the same tensors and metadata.
void check(const camgraph::SafetensorsFile& f) {
  for (const auto& [name, t] : f.tensors)
    if (!t.is_contiguous() || t.device().type() != c10::kCPU) std::abort();
  const camgraph::SafetensorsFile again = camgraph::safetensors_parse(
      camgraph::safetensors_serialize(f.tensors, f.metadata), "round trip");
  if (again.metadata != f.metadata || again.tensors.size() != f.tensors.size()) std::abort();
  for (const auto& [name, t] : f.tensors) {
    const at::Tensor& u = again.tensors.at(name);
    if (u.scalar_type() != t.scalar_type() || u.sizes() != t.sizes() ||
        (t.nbytes() > 0 && std::memcmp(u.data_ptr(), t.data_ptr(), size_t(t.nbytes())) != 0))
      std::abort();
  }
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
        if (r.get_float(name).numel() != t.numel()) std::abort();
      }
      if (camgraph::safetensors_load(path).tensors.size() != r.tensors().size()) std::abort();
    });
  }
  ::close(fd);
  return 0;
}

// libFuzzer harness: batch manifests (app/batch/src/manifest.cpp: read_manifest_file), then a
// save/merge round trip of what was read. Documented outcome: std::runtime_error naming the file.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "camgraph/batch/manifest.h"
#include "fuzz_support.h"
#include "reader_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const camgraph::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  camgraph::fuzz::expect_documented<std::runtime_error>(file.path(), [&] {
    const camgraph::batch::Manifest m = camgraph::batch::read_manifest_file(file.path());
    camgraph::batch::Manifest again = camgraph::batch::Manifest::from_json(m.to_json());
    if (again.items.size() != m.items.size()) std::abort();
    again.merge(m);
    if (again.items.size() != m.items.size()) std::abort();
  });
  return 0;
}

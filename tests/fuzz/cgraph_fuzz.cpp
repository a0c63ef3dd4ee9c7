// libFuzzer harness: the .cgraph reader's structure pass (graph-engine/src/cgraph_io.cpp:
// parse_cgraph), then what a loaded document goes through: saving, reloading, hashing.
// Documented outcome: camgraph::GraphError naming the file.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "camgraph/cgraph_io.h"
#include "camgraph/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using camgraph::fuzz::kSource;
  const std::string text(reinterpret_cast<const char*>(data), size);
  camgraph::fuzz::expect_documented<camgraph::GraphError>(kSource, [&] {
    const camgraph::GraphDocument doc = camgraph::parse_cgraph(text, kSource);
    const std::string saved = camgraph::to_cgraph_text(doc);
    const camgraph::GraphDocument back = camgraph::parse_cgraph(saved, "saved");
    if (!(back.graph == doc.graph)) std::abort();  // saving keeps the graph
    if (camgraph::graph_hash(back.graph) != camgraph::graph_hash(doc.graph)) std::abort();
  });
  return 0;
}

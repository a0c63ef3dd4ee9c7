// libFuzzer harness: sweep files (app/batch/src/sweep.cpp): the bounded JSON parse, then the
// expansion of "vary" (products, zips, ranges, seeded draws). Documented outcomes: a
// std::runtime_error naming the file from the parse, camgraph::batch::SweepError from the
// expansion (it names the JSON path; load_sweep prefixes the file).
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "camgraph/batch/sweep.h"
#include "camgraph/bounded_read.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using camgraph::fuzz::kSource;
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  try {
    doc = camgraph::parse_json_bounded(text, kSource);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find(kSource) == std::string::npos) std::abort();
    return 0;
  }
  const nlohmann::json vary = doc.is_object() && doc.contains("vary") ? doc["vary"] : doc;
  try {
    const std::vector<nlohmann::json> items = camgraph::batch::expand_vary(vary, "/vary");
    if (items.empty() || items.size() > 1000000) std::abort();
    for (const auto& it : items)
      if (!it.is_object()) std::abort();
  } catch (const camgraph::batch::SweepError& e) {
    if (std::string(e.what()).find("/vary") == std::string::npos) std::abort();  // says where
  }
  return 0;
}

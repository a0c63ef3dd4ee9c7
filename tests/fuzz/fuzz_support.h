// What every harness does with a reader's outcome (README.md): the reader's documented exception is
// a normal outcome, but its message must name the input (the "file" the harness passes as source);
// any other exception escapes and libFuzzer (or the replay driver) reports it as a crash.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace camgraph::fuzz {

// The name harnesses give their input, so that error messages can be checked for it.
inline const std::string kSource = "fuzz-input";

// Runs `read()`; an exception of type `Documented` whose message names `source` is fine.
template <class Documented, class Read>
void expect_documented(const std::string& source, Read&& read) {
  try {
    read();
  } catch (const Documented& e) {
    if (std::string_view(e.what()).find(source) == std::string_view::npos) {
      std::fprintf(stderr, "fuzz: the error does not name the file '%s': %s\n", source.c_str(), e.what());
      std::abort();
    }
  }
}

}  // namespace camgraph::fuzz

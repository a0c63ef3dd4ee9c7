// Helpers for the hostile-file tests of the readers (issue 23): an error must come fast and name
// what went wrong.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace camgraph::testing {

// The message of what `f` throws ("(no error)" when it throws none), which must come within 5 s:
// a reader may not allocate or walk what a hostile file only declares.
inline std::string fast_error(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err = "(no error)";
  try {
    f();
  } catch (const std::exception& e) {
    err = e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << err;
  return err;
}

// Every one of `parts` is in `err`.
inline void expect_has(const std::string& err, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(err.find(p), std::string::npos) << "'" << p << "' not in: " << err;
}

}  // namespace camgraph::testing

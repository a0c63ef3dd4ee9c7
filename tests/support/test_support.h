// Helpers shared by every test binary (on the include path of camgraph_add_test targets).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace camgraph::testing {

// An empty folder of its own for one test: <tmp>/camgraph-<name>-<pid>, cleared first.
inline std::filesystem::path temp_dir(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("camgraph-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// The message of the exception `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Runs body(0) .. body(n - 1) at once, each in a forked child process; returns how many children
// failed (threw, or exited other than 0). For tests of several processes writing the same files.
inline int run_in_processes(int n, const std::function<void(int)>& body) {
  std::vector<pid_t> children;
  int failed = 0;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      ++failed;
      continue;
    }
    if (pid == 0) {
      int rc = 0;
      try {
        body(i);
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t c : children) {
    int status = 0;
    ::waitpid(c, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

// The shared test-data folder (../shared beside the repository): $CAMGRAPH_SHARED when set, else
// <source dir>/../shared. Tests that need it skip with a message when it is absent:
//   if (!fs::exists(shared_dir() / "data/videos")) GTEST_SKIP() << "shared data not found (set CAMGRAPH_SHARED)";
inline std::filesystem::path shared_dir() {
  if (const char* e = std::getenv("CAMGRAPH_SHARED"); e && *e) return e;
#ifdef CAMGRAPH_SOURCE_DIR
  return std::filesystem::path(CAMGRAPH_SOURCE_DIR) / ".." / "shared";
#else
  return std::filesystem::path("..") / "shared";
#endif
}

}  // namespace camgraph::testing

// Replays files through a libFuzzer harness without libFuzzer (the normal build's ctest, and the
// coverage build of run_fuzz.sh): fuzz_replay_<name> <file or folder>...
// Folders are walked recursively, files run in name order. A crash or an exception the harness lets
// through ends the run naming the input; an input that takes longer than CAMGRAPH_FUZZ_INPUT_SECONDS
// (default 5) fails the run after all inputs were tried. Exit 0 when every input passed.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

char g_current[4096] = "";  // the input being run, for the crash handlers

void write_err(const char* s) {
  const ssize_t n = ::write(2, s, std::strlen(s));
  (void)n;
}

void on_signal(int sig) {
  write_err("fuzz_replay: crashed (signal) on input ");
  write_err(g_current);
  write_err("\n");
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void on_terminate() {
  std::fprintf(stderr, "fuzz_replay: uncaught exception on input %s", g_current);
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, ": %s", x.what());
    } catch (...) {
    }
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "fuzz_replay: %s is neither a file nor a folder\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "fuzz_replay: no input files (give corpus files or folders)\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  const char* limit_env = std::getenv("CAMGRAPH_FUZZ_INPUT_SECONDS");
  const double limit = limit_env ? std::atof(limit_env) : 5.0;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, on_signal);
  std::set_terminate(on_terminate);

  int slow = 0;
  double slowest = 0;
  std::string slowest_name;
  for (const auto& f : files) {
    std::snprintf(g_current, sizeof g_current, "%s", f.c_str());
    std::ifstream in(f, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > slowest) slowest = s, slowest_name = f.string();
    if (s > limit) {
      std::fprintf(stderr, "fuzz_replay: %s took %.2f s (limit %.1f s)\n", f.c_str(), s, limit);
      ++slow;
    }
  }
  std::printf("fuzz_replay: %zu inputs passed through the harness; slowest %.3f s (%s)\n", files.size(), slowest,
              slowest_name.c_str());
  return slow ? 1 : 0;
}

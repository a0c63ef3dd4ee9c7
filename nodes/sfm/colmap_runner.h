// Running Debian's `colmap` binary: finding it, running one command with its output streamed line
// by line (cancellable: the whole process group is stopped), and reading progress from the lines.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::sfm {

// The executable for `name_or_path`: a path with a '/' is used as given; a bare name is searched in
// $PATH. Empty when not found; `tried` gets every file looked at.
std::filesystem::path find_executable(const std::string& name_or_path,
                                      std::vector<std::filesystem::path>* tried = nullptr);

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal
  bool cancelled = false;
  std::vector<std::string> tail;  // the last lines of output (stdout and stderr together)
};

// Runs argv[0] with the arguments, stdout and stderr merged; `on_line` sees each line; `cancelled`
// is polled ten times a second and stops the process group (SIGTERM, then SIGKILL after 2 s).
// Throws std::runtime_error when the process cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const std::function<void(const std::string&)>& on_line,
                          const std::function<bool()>& cancelled, size_t tail_lines = 40);

// COLMAP's progress lines: "Processed file [i/n]" (feature_extractor), "Matching block [i/n, j/m]"
// (exhaustive), "Matching image [i/n]" (sequential), "Registering image #id (k)" (mapper; k images
// registered with this one), "Undistorting image [i/n]" (image_undistorter).
struct ColmapProgress {
  enum Kind { kFile, kBlock, kImage, kRegister, kUndistort } kind;
  int index = 0, total = 0;  // kRegister: index = registered count, total = 0 (unknown)
};
std::optional<ColmapProgress> parse_colmap_progress(const std::string& line);

}  // namespace camgraph::sfm

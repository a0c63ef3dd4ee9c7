// Shipped files next to the executable (see shipped_files.h).
#include "camgraph/shipped_files.h"

#include <cstdlib>
#include <system_error>

namespace fs = std::filesystem;

namespace camgraph {

fs::path executable_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return p;
}

namespace {

// Candidate folders whether or not they exist, in search order.
std::vector<fs::path> candidate_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("CAMGRAPH_DATA_DIR"); env && *env) dirs.emplace_back(env);
  const fs::path exe = executable_path();
  if (!exe.empty()) dirs.push_back((exe.parent_path() / ".." / "share" / "camgraph").lexically_normal());
  return dirs;
}

}  // namespace

std::vector<fs::path> shipped_data_dirs() {
  std::vector<fs::path> out;
  for (const fs::path& d : candidate_dirs()) {
    std::error_code ec;
    if (fs::is_directory(d, ec)) out.push_back(d);
  }
  return out;
}

fs::path find_shipped_file(const fs::path& relative) {
  for (const fs::path& d : shipped_data_dirs()) {
    std::error_code ec;
    const fs::path p = d / relative;
    if (fs::exists(p, ec)) return p;
  }
  return {};
}

std::string describe_shipped_search(const fs::path& relative) {
  std::string out;
  for (const fs::path& d : candidate_dirs()) out += (out.empty() ? "" : ", ") + (d / relative).string();
  if (out.empty()) return "no data folder next to the program (set $CAMGRAPH_DATA_DIR)";
  return out;
}

}  // namespace camgraph

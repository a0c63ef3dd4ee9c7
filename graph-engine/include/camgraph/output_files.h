// Safe output writing: atomic (temp file + rename), and never silently replacing a file
// that CamGraph did not write. A manifest in the output folder records what we wrote.
#pragma once
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace camgraph {

// Writes `bytes` to `path` via a temporary file in the same folder and a rename.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);  // throws naming the file

class OutputFiles {
 public:
  // `root` is the run's output folder; its manifest is root/.camgraph-outputs.json. Several
  // processes may write into one root at once: the manifest is updated under a file lock
  // (root/.camgraph-outputs.lock) by merging, so no process drops another's entries.
  explicit OutputFiles(std::filesystem::path root);

  // Writes a file under the output folder. If the file exists and the manifest does not
  // record it with the same content hash (a user's file, or one edited since), throws unless
  // `overwrite` is true.
  void write(const std::filesystem::path& path, std::string_view bytes, bool overwrite = false);
  // Checks that `path` may be written (same rule), for writers that produce files themselves
  // (encoders): write to temp_path_for(path), then commit(path).
  void check_writable(const std::filesystem::path& path, bool overwrite = false) const;
  std::filesystem::path temp_path_for(const std::filesystem::path& path) const;
  void commit(const std::filesystem::path& temp, const std::filesystem::path& path);
  bool was_written_by_us(const std::filesystem::path& path) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  void record(const std::filesystem::path& path, uint64_t hash);
  void reload_manifest() const;  // merges the manifest on disk into manifest_ (ours win)
  std::filesystem::path root_;
  mutable nlohmann::json manifest_;                 // {"files": {relpath: hash-hex}}
  nlohmann::json mine_ = nlohmann::json::object();  // entries this object recorded
  mutable std::mutex mutex_;
};

uint64_t hash_bytes(std::string_view bytes);
std::string hash_file_hex(const std::filesystem::path& path);  // content hash, memoised by size+mtime
// Cheap identity of a file or folder for cache keys (NodeSpec::cache_stamp): [size, mtime] of a
// file, {relative path: [size, mtime]} of every file in a folder, "missing" when absent.
nlohmann::json file_stamp(const std::filesystem::path& path);

}  // namespace camgraph

// Safe output writing: durable and atomic (temp file, fsync, rename, fsync of the folder), and never
// silently replacing a file that CamGraph did not write. A manifest in the output folder records
// what we wrote. docs/reliability.md ("Batches") describes the guarantees.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace camgraph {

// Writes `bytes` to `path`: a temporary file in the same folder (see temp_path_for_file), written
// and fsynced, renamed over `path`, then the folder fsynced. A failing write, fsync, close or
// rename throws std::runtime_error naming the file and the system's reason ("No space left on
// device"); the temporary file is removed and an earlier `path` stays as it was.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);  // throws naming the file

// ---- temporary files ----
// A writer's temporary file for `path`: ".<name>.tmp-<pid>-<host>-<rand>" in the same folder
// (host: 8 hex digits naming this machine, rand: 8 random hex digits).
std::filesystem::path temp_path_for_file(const std::filesystem::path& path);
struct TempFileName {
  std::string target;  // the name it was going to replace
  long pid = 0;        // the writer's process id
  std::string host;    // 8 hex digits; empty for the older ".<name>.tmp-<pid>-<n>" form (this machine)
};
// The parts of a temporary file's name; nullopt when `filename` is not one.
std::optional<TempFileName> parse_temp_name(const std::string& filename);
// Removes the temporary files of writers that died (killed, crashed) from `dir` (and its sub
// folders when `recursive`): this machine's whose writer process is gone (or whose pid now belongs
// to a process started after the file was last written), another machine's (a shared file system)
// once not modified for `foreign_age`. Returns the files removed. Files being written stay.
std::vector<std::filesystem::path> remove_stale_temps(const std::filesystem::path& dir, bool recursive,
                                                      std::chrono::seconds foreign_age = std::chrono::hours(1));

// ---- fault injection (tests) ----
// Makes the durable writer's write / fsync / rename calls fail, to test disk-full and read-only
// handling. spec: "op:ERRNO[@N]" items joined by ',' (op: write, fsync or rename; ERRNO: a name
// such as ENOSPC, EIO, EROFS, EDQUOT, EACCES, or a number; N: how many calls of that op succeed
// first, default 0): every later call of that op fails with ERRNO; "op:sleepMS" pauses every call
// of that op MS milliseconds first (widens the windows a kill test aims at). "" turns it off. Read
// from $CAMGRAPH_FAULT on first use in every build; inert when unset. Throws
// std::invalid_argument naming the bad item.
void set_io_faults(const std::string& spec);

class OutputFiles {
 public:
  // `root` is the run's output folder; its manifest is root/.camgraph-outputs.json. Several
  // processes may write into one root at once: the manifest is updated under a file lock
  // (root/.camgraph-outputs.lock) by merging, so no process drops another's entries.
  //
  // Every committed file is recorded in the manifest before it is renamed into place (with the
  // hash of the version it replaces, when that one was ours too), so a writer killed between the
  // two steps leaves a file that a later run still recognises as its own.
  //
  // When $CAMGRAPH_OUTPUTS_LOG names a file (the batch runner sets it per item), every committed
  // file is appended to it as a JSON line {"path", "size", "xxh3"} (absolute path); a line file
  // (write_line_file) as {"path", "line_key"}.
  explicit OutputFiles(std::filesystem::path root);

  // Writes a file under the output folder. If the file exists and the manifest does not
  // record it with the same content hash (a user's file, or one edited since), throws unless
  // `overwrite` is true.
  void write(const std::filesystem::path& path, std::string_view bytes, bool overwrite = false);
  // The same for a file that many items add lines to (a dataset's metadata.jsonl): the outputs log
  // records the item's line key instead of the whole file's hash (which later items change); an
  // empty key: the item's line was taken out (nothing of the item's to check).
  void write_line_file(const std::filesystem::path& path, std::string_view bytes, const std::string& line_key,
                       bool overwrite = false);
  // Checks that `path` may be written (same rule), for writers that produce files themselves
  // (encoders): write to temp_path_for(path), then commit(path) (fsyncs the file, renames it,
  // fsyncs the folder; on failure removes the temporary file and throws naming `path`).
  void check_writable(const std::filesystem::path& path, bool overwrite = false) const;
  std::filesystem::path temp_path_for(const std::filesystem::path& path) const;
  void commit(const std::filesystem::path& temp, const std::filesystem::path& path);
  bool was_written_by_us(const std::filesystem::path& path) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  // Records `hash` for `path` in the manifest (before the file is moved into place).
  void record(const std::filesystem::path& path, const std::string& hash);
  void reload_manifest() const;  // merges the manifest on disk into manifest_ (ours win)
  std::filesystem::path root_;
  mutable nlohmann::json manifest_;                 // {"files": {relpath: hash-hex or [hash-hex...]}}
  nlohmann::json mine_ = nlohmann::json::object();  // entries this object recorded
  mutable std::mutex mutex_;
};

uint64_t hash_bytes(std::string_view bytes);
std::string hash_file_hex(const std::filesystem::path& path);  // content hash, memoised by size+mtime
// Cheap identity of a file or folder for cache keys (NodeSpec::cache_stamp): [size, mtime] of a
// file, {relative path: [size, mtime]} of every file in a folder, "missing" when absent.
nlohmann::json file_stamp(const std::filesystem::path& path);

}  // namespace camgraph

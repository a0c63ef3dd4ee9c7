// The runner's child processes (internal to camgraph_batch): the folder lock that keeps two batch
// runs out of one state folder, starting one `camgraph-cli run` per item, and reading its log.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace camgraph::batch::detail {

// Seconds: wall clock (for the manifest) and monotonic (for durations).
// The text without leading and trailing white space.
std::string trim(std::string s);
double unix_now();
double mono_now();
std::string host_name();

// Holds an exclusive flock on a file while alive; throws naming the holder when another run has it.
class FolderLock {
 public:
  explicit FolderLock(const std::filesystem::path& file);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// What a finished child's log says: the failing node, its parameter and message (from the
// --events json stream, else the last "error:" line), and how many nodes ran or came from the cache.
struct ChildReport {
  std::string node, param, error;
  int computed = 0, cached = 0;
};
ChildReport read_child_log(const std::filesystem::path& log);

// "exit code 3", "killed by signal 9 (Killed)".
std::string status_text(int status);

// Starts argv in its own process group with stdout and stderr to `log`, stdin from /dev/null, and
// the environment plus env_set. -1 with *error set when it cannot start.
pid_t spawn_child(const std::vector<std::string>& argv, const std::filesystem::path& log,
                  const std::map<std::string, std::string>& env_set, std::string* error);

}  // namespace camgraph::batch::detail

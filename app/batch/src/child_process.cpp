// The runner's child processes (see child_process.h).
#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch::detail {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
  return s.substr(i);
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }
double mono_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "host";
  return buf;
}

FolderLock::FolderLock(const fs::path& file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open the batch lock " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    std::string holder;
    char buf[128] = {0};
    if (::pread(fd_, buf, sizeof buf - 1, 0) > 0) holder = trim(buf);
    ::close(fd_);
    throw std::runtime_error("another batch run is using " + file.parent_path().string() +
                             (holder.empty() ? "" : " (" + holder + ")") + "; wait for it or stop it first");
  }
  const std::string me = "pid " + std::to_string(::getpid()) + " on " + host_name() + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

ChildReport read_child_log(const fs::path& log) {
  ChildReport r;
  std::ifstream in(log);
  std::string line, last_error_line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') {
      const json e = json::parse(line, nullptr, false);
      if (e.is_discarded() || !e.is_object()) continue;
      const std::string kind = e.value("event", "");
      if (kind == "node_done") r.computed++;
      else if (kind == "node_cached") r.cached++;
      else if (kind == "node_failed" && r.node.empty()) {
        r.node = e.value("node", "");
        r.param = e.value("param", "");
        r.error = e.value("message", "");
      }
    } else if (line.rfind("error: ", 0) == 0 && last_error_line.empty()) {
      last_error_line = line.substr(7);
    }
  }
  if (r.error.empty()) r.error = last_error_line;
  return r;
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) +
           ")";
  return "status " + std::to_string(status);
}

pid_t spawn_child(const std::vector<std::string>& argv, const fs::path& log,
                  const std::map<std::string, std::string>& env_set, std::string* error) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group: a terminal Ctrl-C reaches only the runner, which then asks every child to
  // stop (once) and records them as pending.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t def, none;
  sigemptyset(&def);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGTERM);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &none);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    const std::string s = *e;
    const std::string key = s.substr(0, s.find('='));
    if (!env_set.count(key)) env_strings.push_back(s);
  }
  for (const auto& [k, v] : env_set) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    *error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

}  // namespace camgraph::batch::detail

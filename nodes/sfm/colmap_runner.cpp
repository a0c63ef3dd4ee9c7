#include "sfm/colmap_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <regex>
#include <sstream>

namespace camgraph::sfm {

namespace fs = std::filesystem;

fs::path find_executable(const std::string& name, std::vector<fs::path>* tried) {
  auto ok = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (tried) tried->push_back(name);
    return ok(name) ? fs::path(name) : fs::path();
  }
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path p = fs::path(dir) / name;
    if (tried) tried->push_back(p);
    if (ok(p)) return p;
  }
  return {};
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::function<void(const std::string&)>& on_line,
                          const std::function<bool()>& cancelled, size_t tail_lines) {
  if (argv.empty()) throw std::runtime_error("run_process: no command");
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + std::strerror(errno));
  }
  if (pid == 0) {  // child: own process group, output into the pipe
    ::setpgid(0, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(args[0], args.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);
  ProcessResult r;
  std::deque<std::string> tail;
  std::string partial;
  auto emit = [&](const std::string& line) {
    if (on_line) on_line(line);
    tail.push_back(line);
    if (tail.size() > tail_lines) tail.pop_front();
  };
  char buf[4096];
  bool open = true;
  std::chrono::steady_clock::time_point term_sent{};
  while (open) {
    if (!r.cancelled && cancelled && cancelled()) {
      r.cancelled = true;
      ::kill(-pid, SIGTERM);
      term_sent = std::chrono::steady_clock::now();
    }
    if (r.cancelled && std::chrono::steady_clock::now() - term_sent > std::chrono::seconds(2)) ::kill(-pid, SIGKILL);
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, 100);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      open = false;
      break;
    }
    partial.append(buf, size_t(got));
    size_t start = 0, nl;
    while ((nl = partial.find_first_of("\n\r", start)) != std::string::npos) {
      if (nl > start) emit(partial.substr(start, nl - start));
      start = nl + 1;
    }
    partial.erase(0, start);
  }
  if (!partial.empty()) emit(partial);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.tail.assign(tail.begin(), tail.end());
  return r;
}

std::optional<ColmapProgress> parse_colmap_progress(const std::string& line) {
  static const std::regex file(R"(Processed file \[(\d+)/(\d+)\])"),
      block(R"(Matching block \[(\d+)/(\d+), (\d+)/(\d+)\])"), image(R"(Matching image \[(\d+)/(\d+)\])"),
      reg(R"(Registering image #\d+ \((\d+)\))"), undist(R"(Undistorting image \[(\d+)/(\d+)\])");
  std::smatch m;
  if (std::regex_search(line, m, file)) return ColmapProgress{ColmapProgress::kFile, std::stoi(m[1]), std::stoi(m[2])};
  if (std::regex_search(line, m, block)) {
    // Blocks run row-major: (i - 1) * m + j of n * m.
    const int i = std::stoi(m[1]), n = std::stoi(m[2]), j = std::stoi(m[3]), mm = std::stoi(m[4]);
    return ColmapProgress{ColmapProgress::kBlock, (i - 1) * mm + j, n * mm};
  }
  if (std::regex_search(line, m, image))
    return ColmapProgress{ColmapProgress::kImage, std::stoi(m[1]), std::stoi(m[2])};
  if (std::regex_search(line, m, reg)) return ColmapProgress{ColmapProgress::kRegister, std::stoi(m[1]), 0};
  if (std::regex_search(line, m, undist))
    return ColmapProgress{ColmapProgress::kUndistort, std::stoi(m[1]), std::stoi(m[2])};
  return std::nullopt;
}

}  // namespace camgraph::sfm

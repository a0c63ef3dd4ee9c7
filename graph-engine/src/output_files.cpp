#include "camgraph/output_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace camgraph {

namespace {
std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// ---- fault injection ----

enum FaultOp { kWrite, kFsync, kRename, kFaultOps };

struct Faults {
  std::mutex mutex;
  bool loaded = false;
  int err[kFaultOps] = {0, 0, 0};               // errno to inject (0: none)
  uint64_t after[kFaultOps] = {0, 0, 0};        // calls that succeed first
  int delay_ms[kFaultOps] = {0, 0, 0};          // a pause before every call (widens kill windows)
  std::atomic<uint64_t> calls[kFaultOps] = {};  // calls so far
};
Faults& faults() {
  static Faults f;
  return f;
}

int errno_from_name(const std::string& name) {
  static const std::map<std::string, int> names = {{"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EROFS", EROFS},
                                                   {"EDQUOT", EDQUOT}, {"EACCES", EACCES}, {"EPERM", EPERM},
                                                   {"EFBIG", EFBIG}};
  auto it = names.find(name);
  if (it != names.end()) return it->second;
  char* end = nullptr;
  const long v = std::strtol(name.c_str(), &end, 10);
  return (!name.empty() && *end == 0 && v > 0 && v < 4096) ? int(v) : 0;
}

void parse_faults_locked(Faults& f, const std::string& spec, const std::string& source) {
  int err[kFaultOps] = {0, 0, 0}, delay[kFaultOps] = {0, 0, 0};
  uint64_t after[kFaultOps] = {0, 0, 0};
  std::stringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    const auto bad = [&](const std::string& why) {
      throw std::invalid_argument(source + ": '" + item + "': " + why +
                                  " (expected op:ERRNO[@N] or op:sleepMS, op one of write, fsync, rename)");
    };
    const size_t colon = item.find(':');
    if (colon == std::string::npos) bad("no ':'");
    const std::string op = item.substr(0, colon);
    std::string rest = item.substr(colon + 1);
    const int k = op == "write" ? kWrite : op == "fsync" ? kFsync : op == "rename" ? kRename : -1;
    if (k < 0) bad("unknown op '" + op + "'");
    if (rest.rfind("sleep", 0) == 0) {
      char* end = nullptr;
      const long ms = std::strtol(rest.c_str() + 5, &end, 10);
      if (rest.size() == 5 || *end != 0 || ms < 0 || ms > 60000) bad("sleep needs milliseconds from 0 to 60000");
      delay[k] = int(ms);
      continue;
    }
    uint64_t n = 0;
    if (const size_t at = rest.find('@'); at != std::string::npos) {
      char* end = nullptr;
      const std::string count = rest.substr(at + 1);
      n = std::strtoull(count.c_str(), &end, 10);
      if (count.empty() || *end != 0) bad("N after '@' is not a number");
      rest = rest.substr(0, at);
    }
    const int e = errno_from_name(rest);
    if (e == 0) bad("unknown errno '" + rest + "'");
    err[k] = e;
    after[k] = n;
  }
  for (int k = 0; k < kFaultOps; ++k) {
    f.err[k] = err[k];
    f.after[k] = after[k];
    f.delay_ms[k] = delay[k];
    f.calls[k] = 0;
  }
  f.loaded = true;
}

// The errno to fail this call of `op` with (0: let it run).
int injected(FaultOp op) {
  Faults& f = faults();
  int delay = 0, err = 0;
  uint64_t after = 0;
  {
    std::lock_guard lock(f.mutex);
    if (!f.loaded) {
      const char* env = std::getenv("CAMGRAPH_FAULT");
      parse_faults_locked(f, env ? env : "", "CAMGRAPH_FAULT");
    }
    delay = f.delay_ms[op];
    err = f.err[op];
    after = f.after[op];
  }
  if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  if (err == 0) return 0;
  return f.calls[op]++ >= after ? err : 0;
}

// ---- system calls that fail with the file's name and the reason ----

[[noreturn]] void io_error(const std::string& what, const fs::path& p, int err) {
  throw std::runtime_error("cannot " + what + " " + p.string() + ": " + std::strerror(err));
}

void write_all(int fd, std::string_view bytes, const fs::path& p) {
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    if (const int e = injected(kWrite)) io_error("write", p, e);
    const ssize_t n = ::write(fd, data, std::min<size_t>(left, size_t(1) << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("write", p, errno);
    }
    data += n;
    left -= size_t(n);
  }
}

void fsync_fd(int fd, const fs::path& p, bool directory) {
  if (const int e = injected(kFsync)) io_error("fsync", p, e);
  if (::fsync(fd) == 0) return;
  // Some file systems cannot fsync a folder; that is no failure of ours.
  if (directory && (errno == EINVAL || errno == ENOTSUP || errno == EBADF)) return;
  io_error(directory ? "fsync folder" : "fsync", p, errno);
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) io_error(directory ? "open folder" : "open", p, errno);
  try {
    fsync_fd(fd, p, directory);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void rename_file(const fs::path& from, const fs::path& to) {
  int e = injected(kRename);
  if (e == 0 && ::rename(from.c_str(), to.c_str()) != 0) e = errno;
  if (e != 0)
    throw std::runtime_error("cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(e));
}

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// Moves a finished, fsynced temporary file into place and makes the rename durable. On failure
// the temporary file is removed.
void commit_temp(const fs::path& tmp, const fs::path& path) {
  try {
    rename_file(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_path(folder_of(path), true);
}

// ---- temporary files ----

std::string host_tag() {
  static const std::string tag = [] {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof buf - 1) != 0) std::snprintf(buf, sizeof buf, "host");
    return hex64(XXH3_64bits(buf, std::strlen(buf))).substr(0, 8);
  }();
  return tag;
}

std::string random_tag() {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}() ^ (uint64_t(::getpid()) << 32) ^
                             uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard lock(mutex);
  return hex64(rng()).substr(0, 8);
}

bool all_hex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit((unsigned char)c); });
}

// Unix time a process started (0 when unknown): /proc/<pid>/stat's start time after boot plus
// the boot time.
double process_start_time(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 22 && fields >> f; ++i)  // field 3 is the state; 22 the start time
    if (i == 22) ticks = std::strtoull(f.c_str(), nullptr, 10);
  std::ifstream boot("/proc/stat");
  for (std::string line; std::getline(boot, line);)
    if (line.rfind("btime ", 0) == 0)
      return std::strtod(line.c_str() + 6, nullptr) + double(ticks) / double(::sysconf(_SC_CLK_TCK));
  return 0;
}

// Whether the process `pid` of this machine may still be writing a file last modified at `mtime`.
bool writer_alive(long pid, double mtime) {
  if (pid <= 0) return false;
  if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) return false;
  const double started = process_start_time(pid);
  return started == 0 || started <= mtime + 2;  // started after the file's last write: a reused pid
}

std::mutex g_swept_mutex;
std::set<std::string> g_swept;  // folders this process already cleaned

// Cleans a folder of dead writers' temporary files once per process, before the first write.
void sweep_folder_once(const fs::path& dir) {
  {
    std::error_code ec;
    const std::string key = fs::absolute(dir, ec).lexically_normal().string();
    std::lock_guard lock(g_swept_mutex);
    if (!g_swept.insert(key).second) return;
  }
  remove_stale_temps(dir, false);
}
}  // namespace

void set_io_faults(const std::string& spec) {
  Faults& f = faults();
  std::lock_guard lock(f.mutex);
  parse_faults_locked(f, spec, "fault spec");
}

fs::path temp_path_for_file(const fs::path& path) {
  return folder_of(path) / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + host_tag() +
                            "-" + random_tag());
}

std::optional<TempFileName> parse_temp_name(const std::string& name) {
  const size_t at = name.rfind(".tmp-");
  if (name.size() < 2 || name[0] != '.' || at == std::string::npos || at < 2) return std::nullopt;
  std::vector<std::string> parts;
  std::stringstream in(name.substr(at + 5));
  for (std::string p; std::getline(in, p, '-');) parts.push_back(p);
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[0].size() > 9 ||
      !std::all_of(parts[0].begin(), parts[0].end(), [](char c) { return std::isdigit((unsigned char)c); }))
    return std::nullopt;
  TempFileName t;
  t.target = name.substr(1, at - 1);
  t.pid = std::stol(parts[0]);
  if (parts.size() == 3) {  // .<name>.tmp-<pid>-<host>-<rand>
    if (!all_hex(parts[1], 8) || !all_hex(parts[2], 8)) return std::nullopt;
    t.host = parts[1];
  } else if (parts[1].empty() ||  // the older .<name>.tmp-<pid>-<n>
             !std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return std::isdigit((unsigned char)c); })) {
    return std::nullopt;
  }
  return t;
}

std::vector<fs::path> remove_stale_temps(const fs::path& dir, bool recursive, std::chrono::seconds foreign_age) {
  std::vector<fs::path> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  const double now = double(std::time(nullptr));
  auto visit = [&](const fs::directory_entry& e) {
    std::error_code e1;
    if (!e.is_regular_file(e1)) return;
    const auto t = parse_temp_name(e.path().filename().string());
    if (!t) return;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) return;  // gone already
    const double mtime = double(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
    const bool ours = t->host.empty() || t->host == host_tag();
    const bool stale = ours ? !writer_alive(t->pid, mtime) : now - mtime > double(foreign_age.count());
    if (stale && ::unlink(e.path().c_str()) == 0) removed.push_back(e.path());
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      visit(*it);
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) visit(*it);
  }
  return removed;
}

uint64_t hash_bytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  const fs::path dir = folder_of(path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder " + dir.string() + ": " + ec.message());
  sweep_folder_once(dir);
  const fs::path tmp = temp_path_for_file(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) io_error("create", tmp, errno);
  try {
    write_all(fd, bytes, tmp);
    fsync_fd(fd, tmp, false);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    io_error("close", tmp, e);
  }
  commit_temp(tmp, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw std::runtime_error("file not found: " + path.string());
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json file_stamp(const fs::path& path) {
  auto one = [](const fs::path& p) -> nlohmann::json {
    std::error_code e1, e2;
    const auto size = fs::file_size(p, e1);
    const auto time = fs::last_write_time(p, e2);
    if (e1 || e2) return "unreadable";
    return nlohmann::json::array({size, int64_t(time.time_since_epoch().count())});
  };
  std::error_code ec;
  if (!fs::exists(path, ec)) return "missing";
  if (!fs::is_directory(path, ec)) return one(path);
  nlohmann::json files = nlohmann::json::object();
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) files[fs::relative(it->path(), path).string()] = one(it->path());
  return files;
}

std::string hash_file_hex(const fs::path& path) {
  struct Memo {
    uint64_t size;
    int64_t mtime_ns;
    std::string hash;
  };
  static std::mutex mutex;
  static std::map<std::string, Memo> memo;

  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("file not found: " + path.string());
  const int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  const std::string key = fs::absolute(path).lexically_normal().string();
  {
    std::lock_guard lock(mutex);
    auto it = memo.find(key);
    if (it != memo.end() && it->second.size == uint64_t(st.st_size) && it->second.mtime_ns == mtime)
      return it->second.hash;
  }
  std::string h;
  if (S_ISDIR(st.st_mode)) {
    // A folder: hash the sorted list of (name, size, mtime) of its regular files, recursively.
    std::map<std::string, std::string> entries;
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (!e.is_regular_file()) continue;
      struct stat fst {};
      ::stat(e.path().c_str(), &fst);
      entries[fs::relative(e.path(), path).string()] = std::to_string(fst.st_size) + ":" +
                                                       std::to_string(fst.st_mtim.tv_sec) + "." +
                                                       std::to_string(fst.st_mtim.tv_nsec);
    }
    XXH3_state_t* s = XXH3_createState();
    XXH3_64bits_reset(s);
    for (const auto& [k, v] : entries) {
      XXH3_64bits_update(s, k.data(), k.size() + 1);
      XXH3_64bits_update(s, v.data(), v.size() + 1);
    }
    h = "d" + hex64(XXH3_64bits_digest(s));
    XXH3_freeState(s);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    XXH3_state_t* s = XXH3_createState();
    XXH3_64bits_reset(s);
    std::vector<char> buf(1 << 20);
    while (in) {
      in.read(buf.data(), buf.size());
      XXH3_64bits_update(s, buf.data(), static_cast<size_t>(in.gcount()));
    }
    h = hex64(XXH3_64bits_digest(s));
    XXH3_freeState(s);
  }
  std::lock_guard lock(mutex);
  memo[key] = {uint64_t(st.st_size), mtime, h};
  return h;
}

// ---------------------------------------------------------------------------------------------

static const char* kManifestName = ".camgraph-outputs.json";

// The manifest's "files" object on disk ({} when absent or damaged: a damaged manifest protects
// nothing, and files stay protected because unknown files are never overwritten).
static nlohmann::json read_manifest_files(const fs::path& root) {
  const fs::path m = root / kManifestName;
  std::error_code ec;
  if (fs::exists(m, ec)) {
    try {
      auto j = nlohmann::json::parse(read_file(m));
      if (j.is_object() && j.contains("files") && j["files"].is_object()) return j["files"];
    } catch (const std::exception&) {
    }
  }
  return nlohmann::json::object();
}

// An exclusive advisory lock on root/.camgraph-outputs.lock for the life of the object
// (no lock, and no error, where the folder cannot hold the lock file).
class ManifestLock {
 public:
  explicit ManifestLock(const fs::path& root) {
    fd_ = ::open((root / ".camgraph-outputs.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0)
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~ManifestLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  ManifestLock(const ManifestLock&) = delete;
  ManifestLock& operator=(const ManifestLock&) = delete;

 private:
  int fd_ = -1;
};

OutputFiles::OutputFiles(fs::path root) : root_(std::move(root)) {
  manifest_ = {{"files", read_manifest_files(root_)}};
}

void OutputFiles::reload_manifest() const {
  nlohmann::json files = read_manifest_files(root_);
  for (auto& [k, v] : mine_.items()) files[k] = v;
  manifest_["files"] = std::move(files);
}

static std::string manifest_key(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path rel = fs::relative(fs::absolute(path), fs::absolute(root), ec);
  if (ec || rel.empty()) rel = fs::absolute(path);
  return rel.lexically_normal().string();
}

namespace {
// A manifest entry names one hash, or several (the version a commit replaced and the new one).
bool entry_has(const nlohmann::json& entry, const std::string& hash) {
  if (entry.is_string()) return entry.get<std::string>() == hash;
  if (entry.is_array())
    for (const auto& h : entry)
      if (h.is_string() && h.get<std::string>() == hash) return true;
  return false;
}

// Appends one JSON line to $CAMGRAPH_OUTPUTS_LOG (when set): the batch runner's list of what an
// item wrote. One write() of an O_APPEND file: lines of concurrent writers never interleave.
void log_output(const nlohmann::json& line) {
  const char* log = std::getenv("CAMGRAPH_OUTPUTS_LOG");
  if (!log || !*log) return;
  const std::string text = line.dump() + "\n";
  const int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) io_error("open the outputs log", log, errno);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int e = errno;
  ::close(fd);
  if (n != ssize_t(text.size())) io_error("append to the outputs log", log, n < 0 ? e : EIO);
}

void log_file_output(const fs::path& path, uint64_t size, const std::string& hash) {
  log_output({{"path", fs::absolute(path).lexically_normal().string()}, {"size", size}, {"xxh3", hash}});
}

// The outer message names the output; the inner one the file and call that failed.
[[noreturn]] void rethrow_for(const fs::path& path, const std::exception& e) {
  const std::string what = e.what();
  if (what.find(path.string()) != std::string::npos) throw std::runtime_error(what);
  throw std::runtime_error("writing " + path.string() + ": " + what);
}
}  // namespace

bool OutputFiles::was_written_by_us(const fs::path& path) const {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  const std::string key = manifest_key(root_, path);
  std::lock_guard lock(mutex_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    // Second attempt: another process may have written the file (and the manifest) since.
    if (attempt == 1) reload_manifest();
    const auto& files = manifest_["files"];
    auto it = files.find(key);
    if (it == files.end()) continue;
    try {
      if (entry_has(*it, hash_file_hex(path))) return true;
    } catch (const std::exception&) {
    }
  }
  return false;
}

void OutputFiles::check_writable(const fs::path& path, bool overwrite) const {
  std::error_code ec;
  if (overwrite || !fs::exists(path, ec)) return;
  if (!was_written_by_us(path))
    throw std::runtime_error(path.string() +
                             " already exists and was not written by this output folder's earlier runs (or was changed "
                             "since); remove it, choose another name, or set overwrite");
}

fs::path OutputFiles::temp_path_for(const fs::path& path) const {
  sweep_folder_once(folder_of(path));
  return temp_path_for_file(path);
}

void OutputFiles::commit(const fs::path& temp, const fs::path& path) {
  try {
    struct stat st {};
    if (::stat(temp.c_str(), &st) != 0) io_error("find the finished temporary file", temp, errno);
    const std::string h = hash_file_hex(temp);
    fsync_path(temp, false);
    record(path, h);
    commit_temp(temp, path);
    log_file_output(path, uint64_t(st.st_size), h);
  } catch (const std::exception& e) {
    ::unlink(temp.c_str());
    rethrow_for(path, e);
  }
}

void OutputFiles::write(const fs::path& path, std::string_view bytes, bool overwrite) {
  check_writable(path, overwrite);
  const std::string h = hex64(hash_bytes(bytes));
  try {
    record(path, h);
    write_file_atomic(path, bytes);
  } catch (const std::exception& e) {
    rethrow_for(path, e);
  }
  log_file_output(path, bytes.size(), h);
}

void OutputFiles::write_line_file(const fs::path& path, std::string_view bytes, const std::string& line_key,
                                  bool overwrite) {
  check_writable(path, overwrite);
  try {
    record(path, hex64(hash_bytes(bytes)));
    write_file_atomic(path, bytes);
  } catch (const std::exception& e) {
    rethrow_for(path, e);
  }
  log_output({{"path", fs::absolute(path).lexically_normal().string()}, {"line_key", line_key}});
}

void OutputFiles::record(const fs::path& path, const std::string& hash) {
  std::lock_guard lock(mutex_);
  const std::string key = manifest_key(root_, path);
  ManifestLock file_lock(root_);
  reload_manifest();  // keep what other processes recorded since we last looked
  // Recorded before the file moves into place: until then the version on disk stays ours too.
  nlohmann::json entry = hash;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      const std::string current = hash_file_hex(path);
      auto it = manifest_["files"].find(key);
      if (current != hash && it != manifest_["files"].end() && entry_has(*it, current))
        entry = nlohmann::json::array({current, hash});
    } catch (const std::exception&) {
    }
  }
  mine_[key] = entry;
  manifest_["files"][key] = entry;
  write_file_atomic(root_ / kManifestName, manifest_.dump(1));
}

}  // namespace camgraph

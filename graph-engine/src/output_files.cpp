#include "camgraph/output_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace camgraph {

namespace {
std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::atomic<uint64_t> g_temp_counter{0};

std::string temp_name(const fs::path& path) {
  return "." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter++);
}

void fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

uint64_t hash_bytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder " + dir.string() + ": " + ec.message());
  const fs::path tmp = dir / temp_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      throw std::runtime_error("write failed for " + path.string() + " (disk full?)");
    }
  }
  fsync_path(tmp, false);
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw std::runtime_error("cannot move " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
  fsync_path(dir, true);
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
      if (it->get<std::string>() == hash_file_hex(path)) return true;
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
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return dir / temp_name(path);
}

void OutputFiles::commit(const fs::path& temp, const fs::path& path) {
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw std::runtime_error("cannot move output into place: " + path.string());
  }
  record(path, 0);
}

void OutputFiles::write(const fs::path& path, std::string_view bytes, bool overwrite) {
  check_writable(path, overwrite);
  write_file_atomic(path, bytes);
  record(path, hash_bytes(bytes));
}

void OutputFiles::record(const fs::path& path, uint64_t hash) {
  std::lock_guard lock(mutex_);
  const std::string h = hash ? hex64(hash) : hash_file_hex(path);
  const std::string key = manifest_key(root_, path);
  mine_[key] = h;
  ManifestLock file_lock(root_);
  reload_manifest();  // keep what other processes recorded since we last looked
  write_file_atomic(root_ / kManifestName, manifest_.dump(1));
}

}  // namespace camgraph

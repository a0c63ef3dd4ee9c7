#include "camgraph/cache.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "camgraph/safetensors.h"
#include "camgraph/values.h"

namespace camgraph {

namespace fs = std::filesystem;

static std::size_t outputs_bytes(const Outputs& o) {
  std::size_t n = 0;
  for (const auto& [k, v] : o) n += v ? v->byte_size() : 0;
  return n;
}

std::optional<Outputs> Cache::get_memory(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.outputs;
}

void Cache::put_memory(const std::string& key, const Outputs& outputs) {
  std::lock_guard lock(mutex_);
  const std::size_t b = outputs_bytes(outputs);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_[key] = {outputs, b, lru_.begin()};
  bytes_ += b;
  // Evict least recently used entries, but never the one just added.
  while (bytes_ > budget_ && lru_.size() > 1) {
    const std::string victim = lru_.back();
    lru_.pop_back();
    bytes_ -= entries_[victim].bytes;
    entries_.erase(victim);
  }
}

void Cache::clear_memory() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

static fs::path entry_path(const fs::path& dir, const std::string& key) {
  return dir / key.substr(0, 2) / (key + ".cgcache");
}

std::optional<Outputs> Cache::get_disk(const fs::path& dir, const std::string& key, const NodeSpec& spec) {
  const fs::path p = entry_path(dir, key);
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  try {
    SafetensorsFile f = safetensors_load(p);
    const auto meta = nlohmann::json::parse(f.metadata.at("camgraph"));
    Outputs out;
    for (const auto& port : spec.outputs) {
      const auto& m = meta.at("outputs").at(port.name);
      if (m.at("type").get<std::string>() != to_string(port.type)) return std::nullopt;
      ValueArchive a;
      a.meta = m.at("meta");
      const std::string prefix = port.name + "/";
      for (const auto& [name, t] : f.tensors)
        if (name.rfind(prefix, 0) == 0) a.tensors[name.substr(prefix.size())] = t;
      out[port.name] = load_value(port.type, a);
    }
    fs::last_write_time(p, fs::file_time_type::clock::now(), ec);  // recently used (for pruning)
    return out;
  } catch (const std::exception&) {
    fs::remove(p, ec);  // damaged entry: recompute
    return std::nullopt;
  }
}

void Cache::put_disk(const fs::path& dir, const std::string& key, const Outputs& outputs) {
  std::map<std::string, at::Tensor> tensors;
  nlohmann::json meta = {{"outputs", nlohmann::json::object()}};
  for (const auto& [name, v] : outputs) {
    ValueArchive a;
    v->save(a);
    meta["outputs"][name] = {{"type", std::string(to_string(v->type()))}, {"meta", a.meta}};
    for (const auto& [tname, t] : a.tensors) tensors[name + "/" + tname] = t;
  }
  safetensors_save_atomic(entry_path(dir, key), tensors, {{"camgraph", meta.dump()}});
}

namespace {

struct DiskEntry {
  fs::path path;
  std::uintmax_t bytes;
  fs::file_time_type used;
  bool stale_temp = false;  // an atomic write's temp file left by a killed process
};

// Atomic writes go through ".<name>.cgcache.tmp-<pid>-<n>" (output_files.cpp); one older than
// this was left by a process that died mid-write.
constexpr auto kStaleTempAge = std::chrono::hours(1);

std::vector<DiskEntry> disk_entries(const fs::path& dir) {
  std::vector<DiskEntry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code e0, e1, e2;
    if (!it->is_regular_file(e0)) continue;
    const std::string name = it->path().filename().string();
    const bool entry = it->path().extension() == ".cgcache";
    const bool temp = !entry && name.size() > 1 && name[0] == '.' && name.find(".cgcache.tmp-") != std::string::npos;
    if (!entry && !temp) continue;
    const auto bytes = fs::file_size(it->path(), e1);
    const auto used = fs::last_write_time(it->path(), e2);
    if (e1 || e2) continue;                                                         // vanished under us
    if (temp && fs::file_time_type::clock::now() - used < kStaleTempAge) continue;  // being written
    out.push_back({it->path(), bytes, used, temp});
  }
  return out;
}

}  // namespace

Cache::DiskUsage Cache::disk_usage(const fs::path& dir) {
  DiskUsage u;
  for (const auto& e : disk_entries(dir)) {
    if (e.stale_temp) continue;
    ++u.entries;
    u.bytes += e.bytes;
  }
  return u;
}

Cache::DiskUsage Cache::prune_disk(const fs::path& dir, std::uintmax_t max_bytes) {
  auto entries = disk_entries(dir);
  std::uintmax_t total = 0;
  for (const auto& e : entries) total += e.bytes;
  std::sort(entries.begin(), entries.end(), [](const DiskEntry& a, const DiskEntry& b) {
    if (a.stale_temp != b.stale_temp) return a.stale_temp;        // dead writers' leftovers first
    return a.used != b.used ? a.used < b.used : a.path < b.path;  // then oldest first
  });
  DiskUsage removed;
  for (const auto& e : entries) {
    if (total <= max_bytes && !e.stale_temp) break;
    std::error_code ec;
    const bool gone = fs::remove(e.path, ec);
    if (gone) {
      ++removed.entries;
      removed.bytes += e.bytes;
    }
    if (gone || !ec) total -= e.bytes;  // removed, or another process removed it first
    else removed.failed.push_back(e.path.string() + ": " + ec.message());
  }
  return removed;
}

}  // namespace camgraph

#include "camgraph/batch/manifest.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "camgraph/output_files.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch {

const char* to_string(ItemState s) {
  switch (s) {
    case ItemState::Pending: return "pending";
    case ItemState::Running: return "running";
    case ItemState::Done: return "done";
    case ItemState::Failed: return "failed";
  }
  return "pending";
}

ItemState item_state_from_string(const std::string& s) {
  if (s == "running") return ItemState::Running;
  if (s == "done") return ItemState::Done;
  if (s == "failed") return ItemState::Failed;
  return ItemState::Pending;
}

json ItemRecord::to_json() const {
  json j = {{"state", to_string(state)}, {"attempts", attempts}, {"seconds", seconds}, {"updated", updated}};
  if (!node.empty()) j["node"] = node;
  if (!param.empty()) j["param"] = param;
  if (!error.empty()) j["error"] = error;
  if (!worker.empty()) j["worker"] = worker;
  if (!log.empty()) j["log"] = log;
  if (computed_nodes || cached_nodes) {
    j["computed_nodes"] = computed_nodes;
    j["cached_nodes"] = cached_nodes;
  }
  return j;
}

ItemRecord ItemRecord::from_json(const json& j) {
  ItemRecord r;
  r.state = item_state_from_string(j.value("state", "pending"));
  r.attempts = j.value("attempts", 0);
  r.node = j.value("node", "");
  r.param = j.value("param", "");
  r.error = j.value("error", "");
  r.seconds = j.value("seconds", 0.0);
  r.worker = j.value("worker", "");
  r.log = j.value("log", "");
  r.updated = j.value("updated", 0.0);
  r.computed_nodes = j.value("computed_nodes", 0);
  r.cached_nodes = j.value("cached_nodes", 0);
  return r;
}

json Manifest::to_json() const {
  json j = {{"format", "camgraph-batch-manifest"},
            {"version", 1},
            {"sweep", sweep_name},
            {"graph_hash", graph_hash},
            {"items", json::object()}};
  for (const auto& [id, r] : items) j["items"][id] = r.to_json();
  return j;
}

Manifest Manifest::from_json(const json& j) {
  Manifest m;
  m.sweep_name = j.value("sweep", "");
  m.graph_hash = j.value("graph_hash", "");
  if (j.contains("items") && j["items"].is_object())
    for (const auto& [id, r] : j["items"].items()) m.items[id] = ItemRecord::from_json(r);
  return m;
}

void Manifest::merge(const Manifest& other) {
  if (sweep_name.empty()) sweep_name = other.sweep_name;
  if (graph_hash.empty()) graph_hash = other.graph_hash;
  for (const auto& [id, r] : other.items) {
    auto it = items.find(id);
    if (it == items.end()) {
      items[id] = r;
      continue;
    }
    ItemRecord& mine = it->second;
    const bool mine_done = mine.state == ItemState::Done, theirs_done = r.state == ItemState::Done;
    const int attempts = std::max(mine.attempts, r.attempts);
    if (theirs_done && !mine_done) mine = r;
    else if (theirs_done == mine_done && r.updated > mine.updated) mine = r;
    mine.attempts = attempts;
  }
}

size_t Manifest::count(ItemState s) const {
  return size_t(std::count_if(items.begin(), items.end(), [&](const auto& kv) { return kv.second.state == s; }));
}

fs::path manifest_path(const fs::path& state_dir) { return state_dir / "manifest.json"; }
fs::path manifest_shard_dir(const fs::path& state_dir) { return state_dir / "manifest.d"; }

namespace {
Manifest read_manifest_file(const fs::path& p) {
  try {
    return Manifest::from_json(json::parse(read_file(p)));
  } catch (const json::exception& e) {
    throw std::runtime_error(p.string() + ": not a batch manifest (" + e.what() +
                             "); move it away to start the batch state afresh");
  }
}
std::vector<fs::path> shard_files(const fs::path& state_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(manifest_shard_dir(state_dir), ec))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

Manifest load_manifest(const fs::path& state_dir) {
  Manifest m;
  if (fs::exists(manifest_path(state_dir))) m = read_manifest_file(manifest_path(state_dir));
  for (const auto& p : shard_files(state_dir)) m.merge(read_manifest_file(p));
  return m;
}

void save_manifest_file(const fs::path& path, const Manifest& m) {
  fs::create_directories(path.parent_path());
  write_file_atomic(path, m.to_json().dump(1) + "\n");
}

Manifest fold_manifest_shards(const fs::path& state_dir) {
  // Shards stay: a task that is still running rewrites its shard, and a removed one could lose a
  // state written between our read and the removal. Loading merges them again (done wins).
  Manifest m = load_manifest(state_dir);
  save_manifest_file(manifest_path(state_dir), m);
  return m;
}

}  // namespace camgraph::batch

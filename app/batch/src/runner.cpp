// Local runner (see runner.h).
#include "camgraph/batch/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "camgraph/output_files.h"
#ifdef CAMGRAPH_BATCH_HAVE_DATASET
#include "dataset/metadata_index.h"
#endif

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch {

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
double mono_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
  return s.substr(i);
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "host";
  return buf;
}

// Holds an exclusive flock on a file while alive.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& file) {
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
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }
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
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
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

}  // namespace

// ---- GPUs and slots ----

std::vector<GpuInfo> parse_nvidia_smi(const std::string& csv) {
  std::vector<GpuInfo> out;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(trim(cell));
    if (f.size() < 3) continue;
    try {
      GpuInfo g;
      g.index = std::stoi(f[0]);
      g.free_mib = std::stod(f[1]);
      g.total_mib = std::stod(f[2]);
      if (f.size() > 3) g.name = f[3];
      out.push_back(g);
    } catch (...) {
    }
  }
  return out;
}

std::vector<GpuInfo> query_gpus() {
  FILE* p = ::popen("nvidia-smi --query-gpu=index,memory.free,memory.total,name --format=csv,noheader,nounits 2>/dev/null", "r");
  if (!p) return {};
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  if (::pclose(p) != 0) return {};
  return parse_nvidia_smi(text);
}

Slots plan_slots(int requested_jobs, const std::string& device, double mem_per_item_mib,
                 const std::vector<GpuInfo>& gpus) {
  Slots s;
  if (device == "cpu" || gpus.empty()) {
    s.jobs = requested_jobs > 0 ? requested_jobs : 1;
    s.reason = requested_jobs > 0 ? "--jobs " + std::to_string(requested_jobs) + " on the CPU"
                                  : "1 at a time on the CPU (no GPU found; --jobs N runs more)";
    return s;
  }
  // Per GPU: how many items fit into its free memory.
  std::vector<int> capacity;
  int total_capacity = 0;
  for (const auto& g : gpus) {
    int c = mem_per_item_mib > 0 ? int(std::floor(g.free_mib / mem_per_item_mib)) : 1;
    capacity.push_back(c);
    total_capacity += c;
  }
  int jobs = requested_jobs > 0 ? requested_jobs : total_capacity;
  std::ostringstream why;
  if (mem_per_item_mib > 0 && jobs > total_capacity) {
    why << "--jobs " << jobs << " lowered to " << total_capacity << ": " << mem_per_item_mib
        << " MiB per item fits " << total_capacity << " time(s) into the free GPU memory";
    jobs = total_capacity;
  } else {
    why << jobs << " at a time on " << gpus.size() << " GPU(s)";
    if (mem_per_item_mib > 0) why << " (" << mem_per_item_mib << " MiB per item)";
  }
  if (jobs < 1) {
    jobs = 1;
    why.str("");
    why << "1 at a time: no GPU has " << mem_per_item_mib << " MiB free (an item may run out of memory)";
  }
  s.jobs = jobs;
  s.reason = why.str();
  // Fill GPUs round robin, never beyond a GPU's capacity when memory is known.
  std::vector<int> used(gpus.size(), 0);
  for (int slot = 0; slot < jobs; ++slot) {
    size_t best = 0;
    double best_load = 1e18;
    for (size_t g = 0; g < gpus.size(); ++g) {
      const double load = double(used[g]) / std::max(1, capacity[g]);
      if (load < best_load) best_load = load, best = g;
    }
    used[best]++;
    s.gpu_of_slot.push_back(gpus[best].index);
  }
  return s;
}

// ---- paths and commands ----

fs::path default_state_dir(const fs::path& out_dir, const Sweep& sweep) {
  return out_dir / ".camgraph-batch" / sweep.name;
}

fs::path item_out_dir(const Sweep& sweep, const SweepItem& item, const fs::path& out_dir, const Registry& registry) {
  if (sweep.items_have_own_outputs(registry)) return out_dir;
  return out_dir / "items" / item.id;
}

std::vector<std::string> child_command(const Sweep& sweep, const SweepItem& item, const RunnerOptions& opt,
                                       const Registry& registry) {
  std::vector<std::string> a = {opt.cli.string(), "run", sweep.graph_path.string(), "--out",
                                item_out_dir(sweep, item, opt.out_dir, registry).string(), "--device", opt.device,
                                "--events", "json", "--quiet"};
  if (opt.cache_dir) {
    a.push_back("--cache-dir");
    a.push_back(opt.cache_dir->string());
    if (opt.cache_max_gb >= 0) {
      char gb[32];
      std::snprintf(gb, sizeof gb, "%g", opt.cache_max_gb);
      a.push_back("--cache-max-gb");
      a.push_back(gb);
    }
  }
  for (const auto& s : item.set_args()) {
    a.push_back("--set");
    a.push_back(s);
  }
  return a;
}

// ---- summaries ----

int RunSummary::exit_code() const {
  if (cancelled) return 130;
  return failed > 0 ? 1 : 0;
}

std::string RunSummary::to_text() const {
  std::ostringstream o;
  o << "batch: " << total << " item(s): " << done << " done, " << skipped << " skipped (done before), " << failed
    << " failed, " << pending << " pending";
  if (cancelled) o << " (cancelled)";
  o << "; " << jobs << " at a time, " << std::lround(wall_seconds) << " s wall\n";
  if (!item_seconds.empty()) {
    double sum = 0, mx = 0, mn = 1e18;
    for (double s : item_seconds) sum += s, mx = std::max(mx, s), mn = std::min(mn, s);
    char buf[200];
    std::snprintf(buf, sizeof buf, "time per item: mean %.1f s, min %.1f s, max %.1f s; %.0f items/hour\n",
                  sum / item_seconds.size(), mn, mx, wall_seconds > 0 ? 3600.0 * item_seconds.size() / wall_seconds : 0.0);
    o << buf;
  }
  for (const auto& [id, r] : failures) {
    o << "failed " << id << " after " << r.attempts << " attempt(s)";
    if (!r.node.empty()) o << ": node '" << r.node << "'" << (r.param.empty() ? "" : ", '" + r.param + "'");
    o << ": " << r.error;
    if (!r.log.empty()) o << " (log: " << r.log << ")";
    o << "\n";
  }
  for (const auto& n : notes) o << n << "\n";
  return o.str();
}

json RunSummary::to_json() const {
  json f = json::array();
  for (const auto& [id, r] : failures) {
    json j = r.to_json();
    j["id"] = id;
    f.push_back(j);
  }
  return {{"total", total}, {"done", done}, {"skipped", skipped}, {"failed", failed}, {"pending", pending},
          {"cancelled", cancelled}, {"jobs", jobs}, {"wall_seconds", wall_seconds}, {"item_seconds", item_seconds},
          {"failures", f}, {"notes", notes}};
}

// ---- datasets ----

bool dataset_index_available() {
#ifdef CAMGRAPH_BATCH_HAVE_DATASET
  return true;
#else
  return false;
#endif
}

std::vector<fs::path> find_dataset_folders(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (it->is_directory(ec)) {
      const std::string name = p.filename().string();
      if (name == ".camgraph-batch" || name == "metadata.d" || it.depth() > 6) {
        it.disable_recursion_pending();
        if (name == "metadata.d") out.push_back(p.parent_path());
      }
    } else if (p.filename() == "metadata.jsonl") {
      out.push_back(p.parent_path());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> index_datasets_under(const fs::path& out_dir, bool* all_files_present) {
  std::vector<std::string> notes;
  if (all_files_present) *all_files_present = true;
#ifdef CAMGRAPH_BATCH_HAVE_DATASET
  for (const auto& folder : find_dataset_folders(out_dir)) {
    const auto rep = camgraph::dataset::index_dataset_metadata(folder);
    std::ostringstream o;
    o << "dataset " << folder.string() << ": metadata.jsonl has " << rep.items << " item(s) (" << rep.shards
      << " shard(s) merged)";
    if (!rep.missing_files.empty()) {
      if (all_files_present) *all_files_present = false;
      o << "; MISSING files:";
      for (const auto& f : rep.missing_files) o << " " << f;
    }
    for (const auto& w : rep.warnings) o << "\n  warning: " << w;
    notes.push_back(o.str());
  }
#else
  if (!find_dataset_folders(out_dir).empty())
    notes.push_back("dataset folders found but this build has no dataset family (FFmpeg): metadata shards not merged");
#endif
  return notes;
}

json GatherReport::to_json() const {
  return {{"done", done}, {"missing", missing}, {"failed", failed}, {"notes", notes}, {"files_complete", files_complete}};
}

GatherReport gather(const Sweep& sweep, const fs::path& out_dir, const fs::path& state_dir) {
  GatherReport g;
  g.manifest = fold_manifest_shards(state_dir);
  for (const auto& it : sweep.items) {
    auto r = g.manifest.items.find(it.id);
    if (r != g.manifest.items.end() && r->second.state == ItemState::Done) {
      g.done.push_back(it.id);
    } else {
      g.missing.push_back(it.id);
      if (r != g.manifest.items.end() && r->second.state == ItemState::Failed) g.failed.push_back(it.id);
    }
  }
  g.notes = index_datasets_under(out_dir, &g.files_complete);
  return g;
}

// ---- the runner ----

RunSummary run_sweep(const Sweep& sweep, const RunnerOptions& opt_in, const Registry& registry) {
  RunnerOptions opt = opt_in;
  auto say = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };
  if (opt.state_dir.empty()) opt.state_dir = default_state_dir(opt.out_dir, sweep);
  if (!fs::exists(opt.cli)) throw std::runtime_error("the item runner " + opt.cli.string() + " does not exist");
  fs::create_directories(opt.state_dir / "logs");
  fs::create_directories(opt.out_dir);
  if (opt.cache_dir) fs::create_directories(*opt.cache_dir);

  std::unique_ptr<FolderLock> lock;
  if (opt.shard.empty()) lock = std::make_unique<FolderLock>(opt.state_dir / "lock");
  const fs::path my_manifest =
      opt.shard.empty() ? manifest_path(opt.state_dir) : manifest_shard_dir(opt.state_dir) / (opt.shard + ".json");

  Manifest merged = load_manifest(opt.state_dir);
  if (!merged.graph_hash.empty() && merged.graph_hash != sweep.graph_hash)
    say("note: the graph changed since the last run of this sweep (item ids change with it; old items stay in the manifest)");
  // The manifest this process writes: the whole merged state (local) or only our items (task).
  Manifest mine;
  mine.sweep_name = sweep.name;
  mine.graph_hash = sweep.graph_hash;
  if (opt.shard.empty()) mine = merged, mine.sweep_name = sweep.name, mine.graph_hash = sweep.graph_hash;
  if (!opt.shard.empty() && fs::exists(my_manifest)) mine.merge(Manifest::from_json(json::parse(read_file(my_manifest))));

  RunSummary sum;
  const double t0 = mono_now();

  // Items of this invocation, in sweep order.
  std::set<std::string> only(opt.only.begin(), opt.only.end());
  for (const auto& id : only)
    if (!sweep.find(id)) throw std::runtime_error("item " + id + " is not in sweep " + sweep.file.string() +
                                                  " (did the sweep or its graph change since the item list was written?)");
  std::deque<size_t> queue;
  for (const auto& it : sweep.items) {
    if (!only.empty() && !only.count(it.id)) continue;
    sum.total++;
    auto r = merged.items.find(it.id);
    if (r != merged.items.end() && r->second.state == ItemState::Done) {
      sum.skipped++;
      continue;
    }
    ItemRecord& rec = mine.items[it.id];
    if (r != merged.items.end()) rec = r->second;
    if (rec.state == ItemState::Running) rec.error = "interrupted (the previous run stopped while it ran)";
    rec.state = ItemState::Pending;
    queue.push_back(it.index);
  }
  auto save = [&] { save_manifest_file(my_manifest, mine); };
  save();

  const Slots slots = plan_slots(opt.jobs, opt.device, opt.gpu_mem_mib, opt.device == "cpu" ? std::vector<GpuInfo>{} : query_gpus());
  sum.jobs = slots.jobs;
  say("batch " + sweep.name + ": " + std::to_string(queue.size()) + " item(s) to run, " + std::to_string(sum.skipped) +
      " done before; " + slots.reason);

  // Upstream sharing: an item's signature at node N is its overrides on N and N's ancestors. Two
  // items with equal signatures at a cacheable node get the same cache entry for it.
  std::vector<std::string> shared_nodes;
  std::map<std::string, std::set<std::string>> ancestors;
  for (const auto& n : sweep.graph.graph.nodes) {
    const NodeSpec* spec = registry.find(n.type);
    if (!spec || spec->is_output || !spec->cacheable || n.bypass) continue;
    shared_nodes.push_back(n.id);
    auto a = sweep.graph.graph.ancestors(n.id);
    ancestors[n.id] = std::set<std::string>(a.begin(), a.end());
  }
  auto signature = [&](const SweepItem& item, const std::string& node) {
    json sig = json::object();
    const auto& anc = ancestors[node];
    for (const auto* src : {&item.overrides, &item.outputs})
      for (const auto& [k, v] : src->items())
        if (anc.count(k.substr(0, k.find('.')))) sig[k] = v;
    return node + "|" + sig.dump();
  };
  std::map<size_t, std::vector<std::string>> sigs;  // item index -> signature per shared node
  const bool sharing = opt.share_upstream && opt.cache_dir.has_value();
  if (sharing)
    for (size_t idx : queue)
      for (const auto& n : shared_nodes) sigs[idx].push_back(signature(sweep.items[idx], n));
  std::set<std::string> produced;  // signatures some finished item computed (now in the cache)
  std::map<std::string, int> waiting;  // signature -> queued items that need it
  for (size_t idx : queue)
    for (const auto& sg : sigs[idx]) waiting[sg]++;

  struct Running {
    size_t item;
    int slot;
    double start;
    fs::path log;
  };
  std::map<pid_t, Running> running;
  std::vector<bool> slot_busy(size_t(slots.jobs), false);
  std::map<size_t, int> tries;  // attempts in this invocation
  const std::string worker_base = opt.shard.empty() ? "local-" + std::to_string(::getpid()) : opt.shard;
  int signalled = 0;

  auto blocked = [&](size_t idx) {
    if (!sharing) return false;
    for (const auto& [pid, r] : running) {
      const auto& theirs = sigs[r.item];
      const auto& ours = sigs[idx];
      for (size_t k = 0; k < ours.size(); ++k)
        if (ours[k] == theirs[k] && !produced.count(ours[k])) return true;
    }
    return false;
  };

  // A leader computes something other queued items need (a scene they share): run leaders first,
  // so followers find it in the cache and the expensive parts of different scenes overlap.
  auto leader = [&](size_t idx) {
    if (!sharing) return false;
    for (const auto& sg : sigs[idx])
      if (!produced.count(sg) && waiting[sg] >= 2) return true;
    return false;
  };

  auto launch = [&](size_t idx, int slot) {
    if (sharing)
      for (const auto& sg : sigs[idx]) waiting[sg]--;
    const SweepItem& item = sweep.items[idx];
    ItemRecord& rec = mine.items[item.id];
    rec.attempts++;
    tries[idx]++;
    rec.state = ItemState::Running;
    rec.worker = host_name() + ":" + worker_base + "-s" + std::to_string(slot);
    const std::string log_name = "logs/" + item.id + ".log";
    rec.log = log_name;
    rec.updated = unix_now();
    std::map<std::string, std::string> env;
    env["CAMGRAPH_DATASET_WRITER"] = worker_base + "-s" + std::to_string(slot);
    if (!slots.gpu_of_slot.empty()) env["CUDA_VISIBLE_DEVICES"] = std::to_string(slots.gpu_of_slot[size_t(slot)]);
    else if (slots.jobs > 1 && !std::getenv("OMP_NUM_THREADS")) {
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      env["OMP_NUM_THREADS"] = std::to_string(std::max(1u, cores / unsigned(slots.jobs)));
    }
    std::string err;
    const auto argv = child_command(sweep, item, opt, registry);
    const pid_t pid = spawn_child(argv, opt.state_dir / log_name, env, &err);
    if (pid < 0) {
      rec.state = ItemState::Failed;
      rec.error = err;
      rec.updated = unix_now();
      save();
      return false;
    }
    running[pid] = {idx, slot, mono_now(), opt.state_dir / log_name};
    slot_busy[size_t(slot)] = true;
    save();
    say("[" + std::to_string(item.index) + "] " + item.id + " started (attempt " + std::to_string(rec.attempts) + ")");
    return true;
  };

  auto finish = [&](pid_t pid, int status) {
    const Running r = running[pid];
    running.erase(pid);
    slot_busy[size_t(r.slot)] = false;
    const SweepItem& item = sweep.items[r.item];
    ItemRecord& rec = mine.items[item.id];
    const ChildReport rep = read_child_log(r.log);
    rec.seconds = mono_now() - r.start;
    rec.updated = unix_now();
    rec.computed_nodes = rep.computed;
    rec.cached_nodes = rep.cached;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      rec.state = ItemState::Done;
      rec.node = rec.param = rec.error = "";
      sum.done++;
      sum.item_seconds.push_back(rec.seconds);
      if (sharing)
        for (const auto& s : sigs[r.item]) produced.insert(s);
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f s", rec.seconds);
      say("[" + std::to_string(item.index) + "] " + item.id + " done in " + buf + " (" + std::to_string(rep.computed) +
          " node(s) run, " + std::to_string(rep.cached) + " from the cache)");
    } else if (signalled && ((WIFEXITED(status) && WEXITSTATUS(status) == 130) || WIFSIGNALED(status))) {
      rec.state = ItemState::Pending;
      rec.error = "cancelled";
      say("[" + std::to_string(item.index) + "] " + item.id + " cancelled (pending)");
    } else {
      rec.node = rep.node;
      rec.param = rep.param;
      rec.error = rep.error.empty() ? "camgraph-cli run ended with " + status_text(status) : rep.error;
      if (WIFSIGNALED(status)) rec.error = "crashed (" + status_text(status) + ")" + (rep.error.empty() ? "" : ": " + rep.error);
      const bool retry = tries[r.item] <= opt.retries && !signalled;
      rec.state = retry ? ItemState::Pending : ItemState::Failed;
      say("[" + std::to_string(item.index) + "] " + item.id + " failed" + (rec.node.empty() ? "" : " at node '" + rec.node + "'") +
          ": " + rec.error + (retry ? " (retrying)" : ""));
      if (retry) {
        queue.push_back(r.item);
        if (sharing)
          for (const auto& sg : sigs[r.item]) waiting[sg]++;
      }
    }
    save();
  };

  while (!queue.empty() || !running.empty()) {
    const int level = opt.cancel_level ? opt.cancel_level() : 0;
    if (level > signalled) {
      for (const auto& [pid, r] : running) ::kill(-pid, level >= 2 ? SIGKILL : SIGINT);
      if (!signalled) say("cancelling: waiting for " + std::to_string(running.size()) + " running item(s) to stop");
      signalled = level;
    }
    if (!signalled) {
      for (int slot = 0; slot < slots.jobs; ++slot) {
        if (slot_busy[size_t(slot)]) continue;
        auto pick = std::find_if(queue.begin(), queue.end(), [&](size_t idx) { return !blocked(idx) && leader(idx); });
        if (pick == queue.end()) pick = std::find_if(queue.begin(), queue.end(), [&](size_t idx) { return !blocked(idx); });
        if (pick == queue.end()) break;
        const size_t idx = *pick;
        queue.erase(pick);
        launch(idx, slot);
      }
    }
    bool reaped = false;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      const pid_t pid = it->first;
      ++it;
      const pid_t got = ::waitpid(pid, &status, WNOHANG);
      if (got == pid) {
        finish(pid, status);
        reaped = true;
      }
    }
    if (signalled && running.empty()) break;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  sum.cancelled = signalled > 0;
  sum.wall_seconds = mono_now() - t0;
  for (const auto& it : sweep.items) {
    if (!only.empty() && !only.count(it.id)) continue;
    auto r = mine.items.find(it.id);
    if (r == mine.items.end()) continue;
    if (r->second.state == ItemState::Failed) {
      sum.failed++;
      sum.failures.push_back({it.id, r->second});
    } else if (r->second.state == ItemState::Pending) {
      sum.pending++;
    }
  }
  if (opt.index_dataset && opt.shard.empty()) {
    for (auto& n : index_datasets_under(opt.out_dir)) sum.notes.push_back(std::move(n));
  }
  return sum;
}

}  // namespace camgraph::batch

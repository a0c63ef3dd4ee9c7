// run_sweep (see runner.h): one pass over a sweep's items, as named steps of a SweepRun.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "camgraph/batch/runner.h"
#include "camgraph/output_files.h"
#include "child_process.h"
#include "item_outputs.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch {

namespace {

using detail::mono_now;
using detail::unix_now;

// The state of one invocation of run_sweep: options, manifests, the queue, the running children and
// what the upstream sharing knows.
class SweepRun {
 public:
  SweepRun(const Sweep& sweep, const RunnerOptions& options, const Registry& registry)
      : sweep_(sweep), opt_(options), registry_(registry) {}

  RunSummary run() {
    prepare_folders();
    remove_stale_temporaries();
    load_manifests();
    t0_ = mono_now();
    queue_items();
    save();
    plan_slots_for_run();
    plan_upstream_sharing();
    while (!queue_.empty() || !running_.empty()) {
      forward_cancel();
      if (!signalled_) fill_free_slots();
      forward_child_events();
      const bool reaped = reap_finished();
      if (signalled_ && running_.empty()) break;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    summarize();
    return sum_;
  }

 private:
  struct Running {
    size_t item;
    int slot;
    double start;
    fs::path log;
    std::streamoff events_read = 0;  // bytes of the child's log already forwarded as events
  };

  void say(const std::string& s) const {
    if (opt_.log) opt_.log(s);
  }
  void emit(json e) const {
    if (opt_.event) opt_.event(e);
  }
  json item_event(const char* kind, const SweepItem& item) const {
    return {{"event", kind}, {"item", item.id}, {"index", item.index}};
  }
  fs::path outputs_log(const SweepItem& item) const { return opt_.state_dir / "outputs" / (item.id + ".jsonl"); }
  void save() { save_manifest_file(my_manifest_, mine_); }
  bool selected(const std::string& id) const { return only_.empty() || only_.count(id); }

  // State folder, output and cache folders, the lock (local runs) and this process's manifest file.
  void prepare_folders() {
    if (opt_.state_dir.empty()) opt_.state_dir = default_state_dir(opt_.out_dir, sweep_);
    if (!fs::exists(opt_.cli)) throw std::runtime_error("the item runner " + opt_.cli.string() + " does not exist");
    fs::create_directories(opt_.state_dir / "logs");
    fs::create_directories(opt_.state_dir / "outputs");
    fs::create_directories(opt_.out_dir);
    if (opt_.cache_dir) fs::create_directories(*opt_.cache_dir);
    if (opt_.shard.empty()) lock_ = std::make_unique<detail::FolderLock>(opt_.state_dir / "lock");
    my_manifest_ = opt_.shard.empty() ? manifest_path(opt_.state_dir)
                                      : manifest_shard_dir(opt_.state_dir) / (opt_.shard + ".json");
  }

  // Temporary files of writers killed in an earlier run (output root, state folder, cache).
  void remove_stale_temporaries() {
    std::set<fs::path> removed;
    std::vector<fs::path> roots = {opt_.out_dir, opt_.state_dir};
    if (opt_.cache_dir) roots.push_back(*opt_.cache_dir);
    for (const auto& root : roots)
      for (auto& p : remove_stale_temps(root, true)) removed.insert(std::move(p));
    if (removed.empty()) return;
    std::string names;
    for (const auto& p : removed) names += (names.empty() ? "" : ", ") + p.lexically_relative(opt_.out_dir).string();
    say("removed " + std::to_string(removed.size()) + " temporary file(s) of writers killed earlier: " + names);
    json files = json::array();
    for (const auto& p : removed) files.push_back(p.string());
    emit({{"event", "stale_temps_removed"}, {"files", files}});
  }

  // merged: every record so far; mine: what this process writes (the whole merged state for a local
  // run, only our items for a Slurm task).
  void load_manifests() {
    merged_ = load_manifest(opt_.state_dir);
    if (!merged_.graph_hash.empty() && merged_.graph_hash != sweep_.graph_hash)
      say("note: the graph changed since the last run of this sweep (item ids change with it; old items stay in the "
          "manifest)");
    mine_.sweep_name = sweep_.name;
    mine_.graph_hash = sweep_.graph_hash;
    if (opt_.shard.empty()) mine_ = merged_, mine_.sweep_name = sweep_.name, mine_.graph_hash = sweep_.graph_hash;
    if (!opt_.shard.empty() && fs::exists(my_manifest_))
      mine_.merge(read_manifest_file(my_manifest_));  // bounded: size, nesting, field types
  }

  // Damaged outputs of an item that runs again move to state/damaged/<id>/ (the engine would refuse
  // to overwrite a file that is not as it wrote it; a file someone edited on purpose is kept there).
  std::string set_aside(const SweepItem& item, const std::vector<fs::path>& files) {
    if (files.empty()) return "";
    const fs::path dir = opt_.state_dir / "damaged" / item.id;
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (const auto& f : files) {
      fs::rename(f, dir / f.filename(), ec);
      if (ec) fs::remove(f, ec);
    }
    return " (damaged file(s) moved to " + dir.lexically_relative(opt_.out_dir).string() + ")";
  }

  // Output files that several done items recorded (each rewrote it): not one item's to check.
  std::set<std::string> shared_outputs() const {
    json lists = json::array();
    for (const auto& [id, r] : merged_.items)
      if (r.state == ItemState::Done) lists.push_back(r.outputs);
    return detail::shared_output_paths(lists);
  }

  // Items of this invocation, in sweep order: done ones whose recorded outputs are intact are skipped,
  // the others (damaged outputs included, saying so) become pending.
  void queue_items() {
    only_ = std::set<std::string>(opt_.only.begin(), opt_.only.end());
    detail::OutputChecker checker(opt_.out_dir, shared_outputs());
    size_t unchecked = 0;
    for (const auto& id : only_)
      if (!sweep_.find(id))
        throw std::runtime_error("item " + id + " is not in sweep " + sweep_.file.string() +
                                 " (did the sweep or its graph change since the item list was written?)");
    for (const auto& it : sweep_.items) {
      if (!selected(it.id)) continue;
      sum_.total++;
      auto r = merged_.items.find(it.id);
      std::string damaged;
      if (r != merged_.items.end() && r->second.state == ItemState::Done) {
        std::vector<fs::path> damaged_files;
        damaged = checker.check(r->second.outputs, &damaged_files);
        if (damaged.empty()) {
          sum_.skipped++;
          unchecked += r->second.outputs.empty();
          continue;
        }
        const std::string aside = set_aside(it, damaged_files);
        say("[" + std::to_string(it.index) + "] " + it.id + ": " + damaged + "; running the item again" + aside);
        json e = item_event("item_outputs_damaged", it);
        e["problem"] = damaged;
        emit(e);
      }
      ItemRecord& rec = mine_.items[it.id];
      if (r != merged_.items.end()) rec = r->second;
      if (rec.state == ItemState::Running) rec.error = "interrupted (the previous run stopped while it ran)";
      if (!damaged.empty()) rec.error = "outputs damaged: " + damaged;
      rec.outputs = json::array();
      rec.state = ItemState::Pending;
      queue_.push_back(it.index);
    }
    if (unchecked)
      say(std::to_string(unchecked) +
          " done item(s) have no recorded outputs (a manifest of an older CamGraph): not checked");
  }

  void plan_slots_for_run() {
    slots_ = plan_slots(opt_.jobs, opt_.device, opt_.gpu_mem_mib,
                        opt_.device == "cpu" ? std::vector<GpuInfo>{} : query_gpus());
    sum_.jobs = slots_.jobs;
    slot_busy_.assign(size_t(slots_.jobs), false);
    // Local writer names sort by start time (milliseconds, 13 digits), so the metadata merge keeps the
    // line of an item's latest run (formats/dataset: a later shard by name wins).
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    worker_base_ = opt_.shard.empty() ? "local-" + std::to_string(ms) + "-" + std::to_string(::getpid()) : opt_.shard;
    say("batch " + sweep_.name + ": " + std::to_string(queue_.size()) + " item(s) to run, " +
        std::to_string(sum_.skipped) + " done before; " + slots_.reason);
    emit({{"event", "batch_started"},
          {"sweep", sweep_.name},
          {"pid", ::getpid()},
          {"queued", queue_.size()},
          {"done_before", sum_.skipped},
          {"jobs", slots_.jobs}});
  }

  // Upstream sharing: an item's signature at node N is its overrides on N and N's ancestors. Two
  // items with equal signatures at a cacheable node get the same cache entry for it.
  void plan_upstream_sharing() {
    for (const auto& n : sweep_.graph.graph.nodes) {
      const NodeSpec* spec = registry_.find(n.type);
      if (!spec || spec->is_output || !spec->cacheable || n.bypass) continue;
      shared_nodes_.push_back(n.id);
      auto a = sweep_.graph.graph.ancestors(n.id);
      ancestors_[n.id] = std::set<std::string>(a.begin(), a.end());
    }
    sharing_ = opt_.share_upstream && opt_.cache_dir.has_value();
    if (sharing_)
      for (size_t idx : queue_)
        for (const auto& n : shared_nodes_) sigs_[idx].push_back(signature(sweep_.items[idx], n));
    for (size_t idx : queue_)
      for (const auto& sg : sigs_[idx]) waiting_[sg]++;
  }

  std::string signature(const SweepItem& item, const std::string& node) {
    json sig = json::object();
    const auto& anc = ancestors_[node];
    for (const auto* src : {&item.overrides, &item.outputs})
      for (const auto& [k, v] : src->items())
        if (anc.count(k.substr(0, k.find('.')))) sig[k] = v;
    return node + "|" + sig.dump();
  }

  // An item waits while a running item computes an upstream result it shares and nobody has it yet.
  bool blocked(size_t idx) {
    if (!sharing_) return false;
    for (const auto& [pid, r] : running_) {
      const auto& theirs = sigs_[r.item];
      const auto& ours = sigs_[idx];
      for (size_t k = 0; k < ours.size(); ++k)
        if (ours[k] == theirs[k] && !produced_.count(ours[k])) return true;
    }
    return false;
  }

  // A leader computes something other queued items need (a scene they share): run leaders first,
  // so followers find it in the cache and the expensive parts of different scenes overlap.
  bool leader(size_t idx) {
    if (!sharing_) return false;
    for (const auto& sg : sigs_[idx])
      if (!produced_.count(sg) && waiting_[sg] >= 2) return true;
    return false;
  }

  // A cancel request (level 1: ask children to stop, 2: kill them) reaches every running child once.
  void forward_cancel() {
    const int level = opt_.cancel_level ? opt_.cancel_level() : 0;
    if (level <= signalled_) return;
    for (const auto& [pid, r] : running_) ::kill(-pid, level >= 2 ? SIGKILL : SIGINT);
    if (!signalled_) say("cancelling: waiting for " + std::to_string(running_.size()) + " running item(s) to stop");
    signalled_ = level;
  }

  void fill_free_slots() {
    for (int slot = 0; slot < slots_.jobs; ++slot) {
      if (slot_busy_[size_t(slot)]) continue;
      auto pick = std::find_if(queue_.begin(), queue_.end(), [&](size_t idx) { return !blocked(idx) && leader(idx); });
      if (pick == queue_.end())
        pick = std::find_if(queue_.begin(), queue_.end(), [&](size_t idx) { return !blocked(idx); });
      if (pick == queue_.end()) break;
      const size_t idx = *pick;
      queue_.erase(pick);
      launch(idx, slot);
    }
  }

  // The child's environment: its dataset writer name and its GPU (or its share of the CPU threads).
  std::map<std::string, std::string> child_env(int slot, const SweepItem& item) const {
    std::map<std::string, std::string> env;
    env["CAMGRAPH_OUTPUTS_LOG"] = outputs_log(item).string();
    env["CAMGRAPH_DATASET_WRITER"] = worker_base_ + "-s" + std::to_string(slot);
    if (!slots_.gpu_of_slot.empty()) env["CUDA_VISIBLE_DEVICES"] = std::to_string(slots_.gpu_of_slot[size_t(slot)]);
    else if (slots_.jobs > 1 && !std::getenv("OMP_NUM_THREADS")) {
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      env["OMP_NUM_THREADS"] = std::to_string(std::max(1u, cores / unsigned(slots_.jobs)));
    }
    return env;
  }

  bool launch(size_t idx, int slot) {
    if (sharing_)
      for (const auto& sg : sigs_[idx]) waiting_[sg]--;
    const SweepItem& item = sweep_.items[idx];
    ItemRecord& rec = mine_.items[item.id];
    rec.attempts++;
    tries_[idx]++;
    rec.state = ItemState::Running;
    rec.worker = detail::host_name() + ":" + worker_base_ + "-s" + std::to_string(slot);
    const std::string log_name = "logs/" + item.id + ".log";
    rec.log = log_name;
    rec.updated = unix_now();
    std::string err;
    const auto argv = child_command(sweep_, item, opt_, registry_);
    std::error_code ec;
    fs::remove(outputs_log(item), ec);  // an earlier attempt's list
    const pid_t pid = detail::spawn_child(argv, opt_.state_dir / log_name, child_env(slot, item), &err);
    if (pid < 0) {
      rec.state = ItemState::Failed;
      rec.error = err;
      rec.updated = unix_now();
      save();
      json e = item_event("item_failed", item);
      e["error"] = err;
      emit(e);
      return false;
    }
    running_[pid] = {idx, slot, mono_now(), opt_.state_dir / log_name};
    slot_busy_[size_t(slot)] = true;
    save();
    say("[" + std::to_string(item.index) + "] " + item.id + " started (attempt " + std::to_string(rec.attempts) + ")");
    json e = item_event("item_started", item);
    e["pid"] = pid;
    e["pgid"] = pid;  // the child leads its own process group
    e["attempt"] = rec.attempts;
    e["log"] = (opt_.state_dir / log_name).string();
    emit(e);
    return true;
  }

  // The running children's --events lines that reached their logs since the last look, as events
  // of this run (with "item" added). Only whole lines; the rest waits for the next look.
  void forward_child_events() {
    if (!opt_.event) return;
    for (auto& [pid, r] : running_) forward_events_of(r);
  }
  void forward_events_of(Running& r) {
    if (!opt_.event) return;
    std::ifstream in(r.log, std::ios::binary);
    if (!in.seekg(r.events_read)) return;
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t end = chunk.rfind('\n');
    if (end == std::string::npos) return;
    r.events_read += std::streamoff(end + 1);
    std::istringstream lines(chunk.substr(0, end));
    const SweepItem& item = sweep_.items[r.item];
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line[0] != '{') continue;
      json e = json::parse(line, nullptr, false);
      if (e.is_discarded() || !e.is_object() || !e.contains("event")) continue;
      e["item"] = item.id;
      e["index"] = item.index;
      emit(e);
    }
  }

  bool reap_finished() {
    bool reaped = false;
    for (auto it = running_.begin(); it != running_.end();) {
      int status = 0;
      const pid_t pid = it->first;
      ++it;
      const pid_t got = ::waitpid(pid, &status, WNOHANG);
      if (got == pid) {
        finish(pid, status);
        reaped = true;
      }
    }
    return reaped;
  }

  void finish(pid_t pid, int status) {
    Running r = running_[pid];
    forward_events_of(r);
    running_.erase(pid);
    slot_busy_[size_t(r.slot)] = false;
    const SweepItem& item = sweep_.items[r.item];
    ItemRecord& rec = mine_.items[item.id];
    const detail::ChildReport rep = detail::read_child_log(r.log);
    rec.seconds = mono_now() - r.start;
    rec.updated = unix_now();
    rec.computed_nodes = rep.computed;
    rec.cached_nodes = rep.cached;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) record_done(r, item, rec, rep);
    else if (signalled_ && ((WIFEXITED(status) && WEXITSTATUS(status) == 130) || WIFSIGNALED(status))) {
      rec.state = ItemState::Pending;
      rec.error = "cancelled";
      say("[" + std::to_string(item.index) + "] " + item.id + " cancelled (pending)");
    } else {
      record_failure(r, item, rec, rep, status);
    }
    save();
    const char* kind = rec.state == ItemState::Done     ? "item_done"
                       : rec.state == ItemState::Failed ? "item_failed"
                       : signalled_                     ? "item_cancelled"
                                                        : "item_retrying";
    json e = item_event(kind, item);
    e["seconds"] = rec.seconds;
    if (rec.state == ItemState::Done) e["outputs"] = rec.outputs;
    else e["error"] = rec.error;
    emit(e);
  }

  void record_done(const Running& r, const SweepItem& item, ItemRecord& rec, const detail::ChildReport& rep) {
    rec.state = ItemState::Done;
    rec.node = rec.param = rec.error = "";
    rec.outputs = detail::read_outputs_log(outputs_log(item), opt_.out_dir);
    sum_.done++;
    sum_.item_seconds.push_back(rec.seconds);
    if (sharing_)
      for (const auto& s : sigs_[r.item]) produced_.insert(s);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f s", rec.seconds);
    say("[" + std::to_string(item.index) + "] " + item.id + " done in " + buf + " (" + std::to_string(rep.computed) +
        " node(s) run, " + std::to_string(rep.cached) + " from the cache)");
  }

  // A failed item is queued again while it has retries left and no cancel came.
  void record_failure(const Running& r, const SweepItem& item, ItemRecord& rec, const detail::ChildReport& rep,
                      int status) {
    rec.node = rep.node;
    rec.param = rep.param;
    rec.error = rep.error.empty() ? "camgraph-cli run ended with " + detail::status_text(status) : rep.error;
    if (WIFSIGNALED(status))
      rec.error = "crashed (" + detail::status_text(status) + ")" + (rep.error.empty() ? "" : ": " + rep.error);
    const bool retry = tries_[r.item] <= opt_.retries && !signalled_;
    rec.state = retry ? ItemState::Pending : ItemState::Failed;
    say("[" + std::to_string(item.index) + "] " + item.id + " failed" +
        (rec.node.empty() ? "" : " at node '" + rec.node + "'") + ": " + rec.error + (retry ? " (retrying)" : ""));
    if (retry) {
      queue_.push_back(r.item);
      if (sharing_)
        for (const auto& sg : sigs_[r.item]) waiting_[sg]++;
    }
  }

  // Counts failed and pending items of this invocation; a local run merges dataset shards at the end.
  void summarize() {
    sum_.cancelled = signalled_ > 0;
    sum_.wall_seconds = mono_now() - t0_;
    for (const auto& it : sweep_.items) {
      if (!selected(it.id)) continue;
      auto r = mine_.items.find(it.id);
      if (r == mine_.items.end()) continue;
      if (r->second.state == ItemState::Failed) {
        sum_.failed++;
        sum_.failures.push_back({it.id, r->second});
      } else if (r->second.state == ItemState::Pending) {
        sum_.pending++;
      }
    }
    if (opt_.index_dataset && opt_.shard.empty()) {
      emit({{"event", "index_started"}});
      for (auto& n : index_datasets_under(opt_.out_dir)) sum_.notes.push_back(std::move(n));
      emit({{"event", "index_done"}, {"notes", sum_.notes}});
    }
  }

  const Sweep& sweep_;
  RunnerOptions opt_;
  const Registry& registry_;

  std::unique_ptr<detail::FolderLock> lock_;
  fs::path my_manifest_;
  Manifest merged_, mine_;
  RunSummary sum_;
  double t0_ = 0;
  std::set<std::string> only_;
  std::deque<size_t> queue_;
  Slots slots_;
  std::string worker_base_;

  std::vector<std::string> shared_nodes_;
  std::map<std::string, std::set<std::string>> ancestors_;
  bool sharing_ = false;
  std::map<size_t, std::vector<std::string>> sigs_;  // item index -> signature per shared node
  std::set<std::string> produced_;                   // signatures some finished item computed (now in the cache)
  std::map<std::string, int> waiting_;               // signature -> queued items that need it

  std::map<pid_t, Running> running_;
  std::vector<bool> slot_busy_;
  std::map<size_t, int> tries_;  // attempts in this invocation
  int signalled_ = 0;
};

}  // namespace

RunSummary run_sweep(const Sweep& sweep, const RunnerOptions& options, const Registry& registry) {
  return SweepRun(sweep, options, registry).run();
}

}  // namespace camgraph::batch

// Demand-driven evaluation with content-hash caching. See evaluator.h.
#include "camgraph/evaluator.h"

#include <c10/util/Exception.h>
#include <xxhash.h>

#include <chrono>
#include <optional>
#include <random>
#include <set>

#include "camgraph/cache.h"
#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "camgraph/values.h"

namespace camgraph {

namespace fs = std::filesystem;

const char* to_string(NodeState s) {
  switch (s) {
    case NodeState::Pending: return "pending";
    case NodeState::Done: return "done";
    case NodeState::Cached: return "cached";
    case NodeState::Failed: return "failed";
    case NodeState::Skipped: return "skipped";
  }
  return "?";
}

DeviceKind resolve_device(DeviceKind requested) {
  if (requested == DeviceKind::Auto) return cuda_available() ? DeviceKind::Cuda : DeviceKind::Cpu;
  return requested;
}

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string hex128(const std::string& s) {
  const XXH128_hash_t h = XXH3_128bits(s.data(), s.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
  return buf;
}

// Parameters with defaults filled in and values normalised, so that an omitted default and an
// explicit one hash the same. Parameters that cannot change the outputs are left out.
json canonical_params(const NodeInstance& n, const NodeSpec& spec) {
  json out = json::object();
  for (const auto& p : spec.params) {
    if (!p.affects_outputs) continue;
    auto it = n.params.find(p.name);
    out[p.name] = check_param(n.id, p, it == n.params.end() ? p.default_value : *it);
  }
  return out;
}

// What a dataset item records about the run that made it: the CamGraph version, every node
// (type, spec version, canonical params, input links), a hash over all of that (the graph hash:
// equal graphs with equal params give equal hashes, whatever the file's layout or ui section),
// the content hash of every input file a param names (model weights, images, PLYs) and the seeds.
json run_provenance(const Graph& graph, const Registry& registry, const fs::path& graph_dir) {
  json nodes = json::object(), files = json::object(), seeds = json::object();
  for (const auto& n : graph.nodes) {
    const NodeSpec* spec = registry.find(n.type);
    if (!spec) continue;
    json params;
    try {
      params = canonical_params(n, *spec);
    } catch (const std::exception&) {
      params = n.params;
    }
    json inputs = json::object();
    for (const auto& l : graph.links)
      if (l.to.node == n.id) inputs[l.to.port] = l.from.node + "." + l.from.port;
    json entry = {{"type", n.type}, {"version", spec->version}, {"params", params}, {"inputs", inputs}};
    if (n.bypass) entry["bypass"] = true;
    for (const auto& p : spec->params) {
      if (!params.contains(p.name)) continue;
      if (p.type == ParamType::Seed) seeds[n.id + "." + p.name] = params[p.name];
      if (p.type == ParamType::Path && p.is_input_file && params[p.name].is_string() &&
          !params[p.name].get<std::string>().empty()) {
        fs::path f(params[p.name].get<std::string>());
        if (f.is_relative()) f = graph_dir / f;
        std::error_code ec;
        files[n.id + "." + p.name] = {{"path", params[p.name]},
                                      {"xxh3", fs::exists(f, ec) ? hash_file_hex(f) : "missing"}};
      }
    }
    nodes[n.id] = std::move(entry);
  }
  return {{"camgraph", CAMGRAPH_VERSION},
          {"graph_hash", hex128(nodes.dump())},
          {"nodes", nodes},
          {"files", files},
          {"seeds", seeds}};
}

std::string first_line(const std::string& s) {
  const auto p = s.find('\n');
  return p == std::string::npos ? s : s.substr(0, p);
}

}  // namespace

Evaluator::Evaluator(const Registry& registry, std::size_t memory_cache_bytes)
    : registry_(registry), cache_(std::make_unique<Cache>(memory_cache_bytes)) {}

Evaluator::~Evaluator() = default;

std::map<std::string, Value> Evaluator::outputs(const std::string& node_id) const {
  auto it = last_outputs_.find(node_id);
  return it == last_outputs_.end() ? std::map<std::string, Value>{} : it->second;
}

int Evaluator::executions(const std::string& node_id) const {
  auto it = executions_.find(node_id);
  return it == executions_.end() ? 0 : it->second;
}

void Evaluator::clear_cache() {
  cache_->clear_memory();
  last_outputs_.clear();
}

namespace {

// One run of a graph, step by step: validate, plan the nodes the targets need, then for each node
// gather its inputs, compute its cache key, and pass it through (bypassed), fetch it from the cache
// or execute it. The evaluator's cache, last outputs and execution counts outlive the run.
class RunPass {
 public:
  RunPass(const Graph& graph, const RunOptions& opt, const Registry& registry, Cache& cache,
          std::map<std::string, Outputs>& last_outputs, std::map<std::string, int>& executions)
      : graph_(graph),
        opt_(opt),
        registry_(registry),
        cache_(cache),
        last_outputs_(last_outputs),
        executions_(executions),
        t0_(now_s()) {}

  RunResult run() {
    if (!validate_run()) return finish("invalid");
    const std::vector<std::string> order = plan();
    output_files_.emplace(opt_.out_dir);
    provenance_ = std::make_shared<const json>(run_provenance(graph_, registry_, opt_.graph_dir));
    run_nonce_ = std::to_string(std::random_device{}()) + std::to_string(t0_);
    for (const auto& id : order) run_node(id);
    result_.cancelled = cancelled_;
    result_.ok = !cancelled_;
    for (const auto& [id, r] : result_.nodes)
      if (r.state == NodeState::Failed || r.state == NodeState::Skipped) result_.ok = false;
    return finish(cancelled_ ? "cancelled" : (result_.ok ? "ok" : "failed"));
  }

 private:
  void emit(const Event& e) const {
    if (opt_.on_event) opt_.on_event(e);
  }

  void emit_node(EventKind kind, const std::string& id, const std::string& message = {}, json data = nullptr) const {
    Event e;
    e.kind = kind;
    e.node = id;
    e.message = message;
    if (!data.is_null()) e.data = std::move(data);
    emit(e);
  }

  RunResult finish(const std::string& status) {
    result_.seconds = now_s() - t0_;
    Event e;
    e.kind = EventKind::RunFinished;
    e.seconds = result_.seconds;
    json counts = json::object();
    for (const auto& [id, r] : result_.nodes) counts[to_string(r.state)] = counts.value(to_string(r.state), 0) + 1;
    e.data = {{"status", status}, {"counts", counts}};
    if (!result_.problems.empty()) {
      json probs = json::array();
      for (const auto& p : result_.problems)
        probs.push_back({{"node", p.node}, {"param", p.param}, {"path", p.path}, {"message", p.message}});
      e.data["problems"] = probs;
    }
    emit(e);
    return result_;
  }

  // 1. Validate everything before running anything.
  bool validate_run() {
    result_.problems = validate(graph_, registry_);
    for (const auto& t : opt_.targets)
      if (!graph_.node(t)) result_.problems.push_back({t, "", "", "target node does not exist"});
    device_ = resolve_device(opt_.device);
    if (device_ == DeviceKind::Cuda && !cuda_available())
      result_.problems.push_back({"", "", "",
                                  "device 'cuda' requested but no CUDA device is available "
                                  "(this build's libtorch or the machine has none); use --device cpu"});
    return result_.problems.empty();
  }

  // 2. Targets (default: output nodes, else leaves) and the nodes they need, in topological order.
  std::vector<std::string> plan() {
    std::vector<std::string> targets = opt_.targets;
    if (targets.empty()) {
      for (const auto& n : graph_.nodes)
        if (!n.bypass && registry_.find(n.type)->is_output) targets.push_back(n.id);
      if (targets.empty())
        for (const auto& n : graph_.nodes)
          if (!n.bypass && graph_.links_from(n.id).empty()) targets.push_back(n.id);
    }
    std::set<std::string> needed;
    for (const auto& t : targets)
      for (const auto& a : graph_.ancestors(t)) needed.insert(a);
    std::vector<std::string> order;
    const std::vector<std::string> all_in_order = graph_.topological_order().value();
    for (const auto& id : all_in_order)
      if (needed.count(id)) order.push_back(id);
    Event e;
    e.kind = EventKind::RunStarted;
    e.data = {{"nodes", order}, {"targets", targets}, {"device", to_string(device_)}};
    emit(e);
    if (opt_.device == DeviceKind::Auto && device_ == DeviceKind::Cpu)
      emit_node(EventKind::Warning, {},
                "device 'auto': no CUDA device is available (this build's libtorch or the machine has none); "
                "running on the CPU");
    return order;
  }

  void skip(const std::string& id, const std::string& why) {
    NodeResult& res = result_.nodes[id];
    res.state = NodeState::Skipped;
    res.error = why;
    emit_node(EventKind::NodeSkipped, id, why);
  }

  void fail(const std::string& id, const std::string& error, const std::string& param = {}) {
    NodeResult& res = result_.nodes[id];
    res.state = NodeState::Failed;
    res.error = error;
    res.error_param = param;
    Event e;
    e.kind = EventKind::NodeFailed;
    e.node = id;
    e.param = param;
    e.message = error;
    e.seconds = res.seconds;
    emit(e);
  }

  // 3. One node: skipped, failed, passed through, fetched from the cache, or executed.
  void run_node(const std::string& id) {
    const NodeInstance& node = *graph_.node(id);
    const NodeSpec& spec = *registry_.find(node.type);
    result_.nodes[id];  // considered, in run order
    if (!cancelled_ && opt_.cancel && opt_.cancel->is_cancelled()) cancelled_ = true;
    if (cancelled_) return skip(id, "run cancelled");
    Outputs inputs;
    json input_keys = json::object();
    if (const std::string problem = gather_inputs(id, inputs, input_keys); !problem.empty()) return skip(id, problem);
    std::string key;
    try {
      key = hex128(cache_key_source(node, spec, input_keys).dump());
    } catch (const std::exception& e) {
      return fail(id, e.what());
    }
    keys_[id] = key;
    result_.nodes[id].cache_key = key;
    if (node.bypass) return pass_through(id, spec, inputs);
    if (fetch_cached(id, spec, key)) return;
    execute(node, spec, key, std::move(inputs));
  }

  // Inputs: every connected upstream must have produced its outputs; returns why not, or "".
  std::string gather_inputs(const std::string& id, Outputs& inputs, json& input_keys) {
    for (const auto* l : graph_.links_into(id)) {
      const NodeResult& up = result_.nodes[l->from.node];
      if (up.state != NodeState::Done && up.state != NodeState::Cached)
        return "upstream node '" + l->from.node + "' " + (up.state == NodeState::Failed ? "failed" : "did not run");
      inputs[l->to.port] = values_[l->from.node][l->from.port];
      input_keys[l->to.port] = keys_[l->from.node] + ":" + l->from.port;
    }
    return {};
  }

  // Cache key material: node type and version, canonical params, upstream keys, input file
  // fingerprints, device; throws on invalid params or a failing cache stamp.
  json cache_key_source(const NodeInstance& node, const NodeSpec& spec, const json& input_keys) const {
    json files = json::object();
    const json params = canonical_params(node, spec);
    for (const auto& p : spec.params)
      if (p.type == ParamType::Path && p.is_input_file && !params[p.name].get<std::string>().empty()) {
        fs::path f(params[p.name].get<std::string>());
        if (f.is_relative()) f = opt_.graph_dir / f;
        std::error_code ec;
        files[p.name] = fs::exists(f, ec) ? hash_file_hex(f) : "missing";
      }
    json key_src = {{"type", node.type}, {"version", spec.version},      {"params", params},     {"inputs", input_keys},
                    {"files", files},    {"device", to_string(device_)}, {"bypass", node.bypass}};
    if (spec.is_output) key_src["out_dir"] = fs::absolute(opt_.out_dir).lexically_normal().string();
    if (!spec.cacheable) key_src["nonce"] = run_nonce_;
    if (spec.cache_stamp) key_src["stamp"] = spec.cache_stamp(params, opt_.graph_dir);
    return key_src;
  }

  void keep(const std::string& id, const Outputs& out) {
    values_[id] = out;
    last_outputs_[id] = out;
  }

  // Bypassed (muted) nodes pass the first input of each output's type through.
  void pass_through(const std::string& id, const NodeSpec& spec, Outputs& inputs) {
    Outputs out;
    std::string missing;
    for (const auto& o : spec.outputs) {
      for (const auto& i : spec.inputs)
        if (i.type == o.type && inputs.count(i.name)) {
          out[o.name] = inputs[i.name];
          break;
        }
      if (!out.count(o.name)) missing = o.name;
    }
    if (!missing.empty()) return fail(id, "bypassed, but no connected input has the type of output '" + missing + "'");
    keep(id, out);
    result_.nodes[id].state = NodeState::Cached;
    emit_node(EventKind::NodeCached, id, {}, {{"tier", "bypass"}});
  }

  // Cache tiers, memory then disk. Output nodes (that write files) always run.
  bool fetch_cached(const std::string& id, const NodeSpec& spec, const std::string& key) {
    if (spec.is_output || !spec.cacheable) return false;
    std::optional<Outputs> hit = cache_.get_memory(key);
    std::string tier = "memory";
    if (!hit && opt_.cache_dir) {
      hit = Cache::get_disk(*opt_.cache_dir, key, spec);
      tier = "disk";
      if (hit) cache_.put_memory(key, *hit);
    }
    if (!hit) return false;
    keep(id, *hit);
    result_.nodes[id].state = NodeState::Cached;
    emit_node(EventKind::NodeCached, id, {}, {{"tier", tier}});
    return true;
  }

  void execute(const NodeInstance& node, const NodeSpec& spec, const std::string& key, Outputs inputs) {
    const std::string& id = node.id;
    emit_node(EventKind::NodeStarted, id, {}, {{"device", to_string(device_)}});
    NodeContext::Setup setup;
    setup.node = &node;
    setup.spec = &spec;
    setup.inputs = std::move(inputs);
    setup.device = device_;
    setup.graph_dir = opt_.graph_dir;
    setup.out_dir = opt_.out_dir;
    setup.output_files = &*output_files_;
    setup.cancel = opt_.cancel;
    setup.events = opt_.on_event;
    setup.previews = opt_.previews;
    setup.provenance = provenance_;
    NodeContext ctx(std::move(setup));
    const double start = now_s();
    std::string error, error_param;
    bool node_cancelled = false;
    executions_[id]++;
    try {
      spec.execute(ctx);
      for (const auto& o : spec.outputs)
        if (!ctx.outputs().count(o.name))
          throw GraphError(id, o.name, "node finished without setting output '" + o.name + "' (bug in the node)");
    } catch (const Cancelled&) {
      node_cancelled = true;
    } catch (const GraphError& e) {
      error = e.problem().message;
      error_param = e.problem().param;
    } catch (const c10::Error& e) {
      error = first_line(e.what_without_backtrace());
    } catch (const std::exception& e) {
      error = e.what();
    }
    result_.nodes[id].seconds = now_s() - start;
    if (node_cancelled) {
      cancelled_ = true;
      return skip(id, "cancelled while running");
    }
    if (!error.empty()) return fail(id, error, error_param);
    store(id, spec, key, ctx.outputs());
  }

  // A computed node's outputs: kept for its consumers, cached (memory, and disk when asked).
  void store(const std::string& id, const NodeSpec& spec, const std::string& key, const Outputs& out) {
    keep(id, out);
    if (spec.cacheable && !spec.is_output) {
      cache_.put_memory(key, out);
      if (opt_.cache_dir) {
        try {
          Cache::put_disk(*opt_.cache_dir, key, out);
        } catch (const std::exception& e) {
          emit_node(EventKind::Warning, id, std::string("could not write the disk cache: ") + e.what());
        }
      }
    }
    NodeResult& res = result_.nodes[id];
    res.state = NodeState::Done;
    Event e;
    e.kind = EventKind::NodeDone;
    e.node = id;
    e.seconds = res.seconds;
    json summaries = json::object();
    for (const auto& [name, v] : out) summaries[name] = v->summary();
    e.data = {{"outputs", summaries}};
    emit(e);
  }

  const Graph& graph_;
  const RunOptions& opt_;
  const Registry& registry_;
  Cache& cache_;
  std::map<std::string, Outputs>& last_outputs_;
  std::map<std::string, int>& executions_;
  const double t0_;
  RunResult result_;
  DeviceKind device_ = DeviceKind::Cpu;
  std::optional<OutputFiles> output_files_;  // from the plan on
  std::shared_ptr<const json> provenance_;
  std::string run_nonce_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, Outputs> values_;
  bool cancelled_ = false;
};

}  // namespace

RunResult Evaluator::run(const Graph& graph, const RunOptions& opt) {
  return RunPass(graph, opt, registry_, *cache_, last_outputs_, executions_).run();
}

}  // namespace camgraph

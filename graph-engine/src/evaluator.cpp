// Demand-driven evaluation with content-hash caching. See evaluator.h.
#include "camgraph/evaluator.h"

#include <c10/util/Exception.h>
#include <xxhash.h>

#include <chrono>
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
  return {{"camgraph", CAMGRAPH_VERSION}, {"graph_hash", hex128(nodes.dump())}, {"nodes", nodes},
          {"files", files}, {"seeds", seeds}};
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

RunResult Evaluator::run(const Graph& graph, const RunOptions& opt) {
  RunResult result;
  const double t0 = now_s();
  auto emit = [&](const Event& e) {
    if (opt.on_event) opt.on_event(e);
  };
  auto finish = [&](const std::string& status) {
    result.seconds = now_s() - t0;
    Event e;
    e.kind = EventKind::RunFinished;
    e.seconds = result.seconds;
    json counts = json::object();
    for (const auto& [id, r] : result.nodes) counts[to_string(r.state)] = counts.value(to_string(r.state), 0) + 1;
    e.data = {{"status", status}, {"counts", counts}};
    if (!result.problems.empty()) {
      json probs = json::array();
      for (const auto& p : result.problems)
        probs.push_back({{"node", p.node}, {"param", p.param}, {"path", p.path}, {"message", p.message}});
      e.data["problems"] = probs;
    }
    emit(e);
    return result;
  };

  // 1. Validate everything before running anything.
  result.problems = validate(graph, registry_);
  std::vector<std::string> targets = opt.targets;
  for (const auto& t : targets)
    if (!graph.node(t)) result.problems.push_back({t, "", "", "target node does not exist"});
  const DeviceKind device = resolve_device(opt.device);
  if (device == DeviceKind::Cuda && !cuda_available())
    result.problems.push_back({"", "", "", "device 'cuda' requested but no CUDA device is available "
                                           "(this build's libtorch or the machine has none); use --device cpu"});
  if (!result.problems.empty()) return finish("invalid");

  // 2. Targets and the nodes they need, in topological order.
  if (targets.empty()) {
    for (const auto& n : graph.nodes)
      if (!n.bypass && registry_.find(n.type)->is_output) targets.push_back(n.id);
    if (targets.empty())
      for (const auto& n : graph.nodes)
        if (!n.bypass && graph.links_from(n.id).empty()) targets.push_back(n.id);
  }
  std::set<std::string> needed;
  for (const auto& t : targets)
    for (const auto& a : graph.ancestors(t)) needed.insert(a);
  std::vector<std::string> order;
  const std::vector<std::string> all_in_order = graph.topological_order().value();
  for (const auto& id : all_in_order)
    if (needed.count(id)) order.push_back(id);

  {
    Event e;
    e.kind = EventKind::RunStarted;
    e.data = {{"nodes", order}, {"targets", targets}, {"device", to_string(device)}};
    emit(e);
  }

  OutputFiles output_files(opt.out_dir);
  const auto provenance = std::make_shared<const json>(run_provenance(graph, registry_, opt.graph_dir));
  std::map<std::string, std::string> keys;
  std::map<std::string, Outputs> values;
  const std::string run_nonce = std::to_string(std::random_device{}()) + std::to_string(t0);
  bool cancelled = false;

  for (const auto& id : order) {
    const NodeInstance& node = *graph.node(id);
    const NodeSpec& spec = *registry_.find(node.type);
    NodeResult& res = result.nodes[id];
    auto skip = [&](const std::string& why) {
      res.state = NodeState::Skipped;
      res.error = why;
      Event e;
      e.kind = EventKind::NodeSkipped;
      e.node = id;
      e.message = why;
      emit(e);
    };

    if (!cancelled && opt.cancel && opt.cancel->is_cancelled()) cancelled = true;
    if (cancelled) {
      skip("run cancelled");
      continue;
    }

    // Inputs: every connected upstream must have produced its outputs.
    std::map<std::string, Value> inputs;
    json input_keys = json::object();
    std::string upstream_problem;
    for (const auto* l : graph.links_into(id)) {
      const NodeResult& up = result.nodes[l->from.node];
      if (up.state != NodeState::Done && up.state != NodeState::Cached) {
        upstream_problem = "upstream node '" + l->from.node + "' " +
                           (up.state == NodeState::Failed ? "failed" : "did not run");
        break;
      }
      inputs[l->to.port] = values[l->from.node][l->from.port];
      input_keys[l->to.port] = keys[l->from.node] + ":" + l->from.port;
    }
    if (!upstream_problem.empty()) {
      skip(upstream_problem);
      continue;
    }

    // Cache key: node type and version, canonical params, upstream keys, input file fingerprints.
    json key_src;
    try {
      json files = json::object();
      const json params = canonical_params(node, spec);
      for (const auto& p : spec.params)
        if (p.type == ParamType::Path && p.is_input_file && !params[p.name].get<std::string>().empty()) {
          fs::path f(params[p.name].get<std::string>());
          if (f.is_relative()) f = opt.graph_dir / f;
          std::error_code ec;
          files[p.name] = fs::exists(f, ec) ? hash_file_hex(f) : "missing";
        }
      key_src = {{"type", node.type}, {"version", spec.version}, {"params", params},
                 {"inputs", input_keys}, {"files", files}, {"device", to_string(device)},
                 {"bypass", node.bypass}};
      if (spec.is_output) key_src["out_dir"] = fs::absolute(opt.out_dir).lexically_normal().string();
      if (!spec.cacheable) key_src["nonce"] = run_nonce;
      if (spec.cache_stamp) key_src["stamp"] = spec.cache_stamp(params, opt.graph_dir);
    } catch (const std::exception& e) {
      res.state = NodeState::Failed;
      res.error = e.what();
      Event ev;
      ev.kind = EventKind::NodeFailed;
      ev.node = id;
      ev.message = e.what();
      emit(ev);
      continue;
    }
    const std::string key = hex128(key_src.dump());
    keys[id] = key;
    res.cache_key = key;

    // Bypassed (muted) nodes pass the first input of each output's type through.
    if (node.bypass) {
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
      if (!missing.empty()) {
        res.state = NodeState::Failed;
        res.error = "bypassed, but no connected input has the type of output '" + missing + "'";
        Event ev;
        ev.kind = EventKind::NodeFailed;
        ev.node = id;
        ev.message = res.error;
        emit(ev);
        continue;
      }
      values[id] = out;
      last_outputs_[id] = out;
      res.state = NodeState::Cached;
      Event ev;
      ev.kind = EventKind::NodeCached;
      ev.node = id;
      ev.data = {{"tier", "bypass"}};
      emit(ev);
      continue;
    }

    // Cache tiers. Output nodes (that write files) always run.
    if (!spec.is_output && spec.cacheable) {
      std::optional<Outputs> hit = cache_->get_memory(key);
      std::string tier = "memory";
      if (!hit && opt.cache_dir) {
        hit = Cache::get_disk(*opt.cache_dir, key, spec);
        tier = "disk";
        if (hit) cache_->put_memory(key, *hit);
      }
      if (hit) {
        values[id] = *hit;
        last_outputs_[id] = *hit;
        res.state = NodeState::Cached;
        Event ev;
        ev.kind = EventKind::NodeCached;
        ev.node = id;
        ev.data = {{"tier", tier}};
        emit(ev);
        continue;
      }
    }

    // Execute.
    {
      Event ev;
      ev.kind = EventKind::NodeStarted;
      ev.node = id;
      emit(ev);
    }
    NodeContext::Setup setup;
    setup.node = &node;
    setup.spec = &spec;
    setup.inputs = inputs;
    setup.device = device;
    setup.graph_dir = opt.graph_dir;
    setup.out_dir = opt.out_dir;
    setup.output_files = &output_files;
    setup.cancel = opt.cancel;
    setup.events = opt.on_event;
    setup.previews = opt.previews;
    setup.provenance = provenance;
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
    res.seconds = now_s() - start;
    if (node_cancelled) {
      cancelled = true;
      skip("cancelled while running");
      continue;
    }
    if (!error.empty()) {
      res.state = NodeState::Failed;
      res.error = error;
      res.error_param = error_param;
      Event ev;
      ev.kind = EventKind::NodeFailed;
      ev.node = id;
      ev.param = error_param;
      ev.message = error;
      ev.seconds = res.seconds;
      emit(ev);
      continue;
    }
    const Outputs& out = ctx.outputs();
    values[id] = out;
    last_outputs_[id] = out;
    if (spec.cacheable && !spec.is_output) {
      cache_->put_memory(key, out);
      if (opt.cache_dir) {
        try {
          Cache::put_disk(*opt.cache_dir, key, out);
        } catch (const std::exception& e) {
          Event w;
          w.kind = EventKind::Warning;
          w.node = id;
          w.message = std::string("could not write the disk cache: ") + e.what();
          emit(w);
        }
      }
    }
    res.state = NodeState::Done;
    Event ev;
    ev.kind = EventKind::NodeDone;
    ev.node = id;
    ev.seconds = res.seconds;
    json summaries = json::object();
    for (const auto& [name, v] : out) summaries[name] = v->summary();
    ev.data = {{"outputs", summaries}};
    emit(ev);
  }

  result.cancelled = cancelled;
  result.ok = !cancelled;
  for (const auto& [id, r] : result.nodes)
    if (r.state == NodeState::Failed || r.state == NodeState::Skipped) result.ok = false;
  return finish(cancelled ? "cancelled" : (result.ok ? "ok" : "failed"));
}

}  // namespace camgraph

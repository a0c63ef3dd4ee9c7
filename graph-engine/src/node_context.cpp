#include "camgraph/node_context.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace camgraph {

namespace fs = std::filesystem;

static double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

const json& NodeContext::provenance() const {
  static const json empty = json::object();
  return setup_.provenance ? *setup_.provenance : empty;
}

NodeContext::NodeContext(Setup setup) : setup_(std::move(setup)), started_at_(now_s()) {}

const json& NodeContext::param(const std::string& name) const {
  const auto& params = setup_.node->params;
  auto it = params.find(name);
  if (it != params.end()) return *it;
  const ParamSpec* ps = setup_.spec->param(name);
  if (!ps) fail(name, "node '" + spec().type + "' has no parameter '" + name + "' (bug in the node)");
  return ps->default_value;
}

int64_t NodeContext::param_int(const std::string& name) const { return param(name).get<int64_t>(); }
double NodeContext::param_float(const std::string& name) const { return param(name).get<double>(); }
bool NodeContext::param_bool(const std::string& name) const { return param(name).get<bool>(); }
std::string NodeContext::param_string(const std::string& name) const { return param(name).get<std::string>(); }
uint64_t NodeContext::param_seed(const std::string& name) const {
  return static_cast<uint64_t>(param(name).get<int64_t>());
}

std::array<double, 4> NodeContext::param_colour(const std::string& name) const {
  const std::string s = param_string(name);  // "#rrggbb" or "#rrggbbaa", checked before the run
  std::array<double, 4> c{0, 0, 0, 1};
  for (size_t i = 0; i * 2 + 1 < s.size() && i < 4; ++i) c[i] = std::stoi(s.substr(1 + 2 * i, 2), nullptr, 16) / 255.0;
  return c;
}

fs::path NodeContext::input_path(const std::string& param_name) const {
  const std::string s = param_string(param_name);
  if (s.empty()) fail(param_name, "no file given");
  fs::path p(s);
  if (p.is_relative()) p = setup_.graph_dir / p;
  std::error_code ec;
  if (!fs::exists(p, ec))
    fail(param_name, "'" + s + "' not found (looked for " + fs::absolute(p).lexically_normal().string() + ")");
  return p;
}

fs::path NodeContext::output_path(const std::string& param_name) const {
  const std::string s = param_string(param_name);
  if (s.empty()) fail(param_name, "no output path given");
  fs::path p(s);
  if (p.is_relative()) p = setup_.out_dir / p;
  return p.lexically_normal();
}

bool NodeContext::has_input(const std::string& name) const {
  auto it = setup_.inputs.find(name);
  return it != setup_.inputs.end() && it->second;
}

Value NodeContext::input_value(const std::string& name) const {
  auto it = setup_.inputs.find(name);
  if (it == setup_.inputs.end() || !it->second) fail_port(name, "input is not connected");
  return it->second;
}

void NodeContext::set_output(const std::string& name, Value value) {
  const PortSpec* p = setup_.spec->output(name);
  if (!p) fail_port(name, "node has no output named '" + name + "' (bug in the node)");
  if (!value) fail_port(name, "output value is empty (bug in the node)");
  if (p->type != value->type())
    fail_port(name, "output is declared " + std::string(to_string(p->type)) + " but got " +
                        std::string(to_string(value->type())) + " (bug in the node)");
  outputs_[name] = std::move(value);
}

void NodeContext::set_record(const std::string& name, json record) {
  auto value = std::make_shared<RecordValue>();
  value->record = std::move(record);
  set_output(name, std::move(value));
}

void NodeContext::progress(double fraction, const std::string& message) { progress(fraction, message, json::object()); }

void NodeContext::progress(double fraction, const std::string& message, const json& data) {
  if (!setup_.events) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  Event e;
  e.kind = EventKind::Progress;
  e.node = node_id();
  e.fraction = fraction;
  e.message = message;
  const double elapsed = now_s() - started_at_;
  if (fraction > 0.01 && elapsed > 0.5) e.eta_s = elapsed * (1 - fraction) / fraction;
  if (data.is_object() && !data.empty()) e.data = data;
  setup_.events(e);
}

void NodeContext::warn(const std::string& message) {
  if (!setup_.events) return;
  Event e;
  e.kind = EventKind::Warning;
  e.node = node_id();
  e.message = message;
  setup_.events(e);
}

void NodeContext::preview(Value value, const std::string& label, const json& data) {
  if (!wants_previews() || !value) return;
  Event e;
  e.kind = EventKind::Preview;
  e.node = node_id();
  e.message = label;
  e.value = std::move(value);
  if (data.is_object() && !data.empty()) e.data = data;
  setup_.events(e);
}

bool NodeContext::cancelled() const { return setup_.cancel && setup_.cancel->is_cancelled(); }

void NodeContext::check_cancelled() const {
  if (cancelled()) throw Cancelled();
}

void NodeContext::fail(const std::string& param, const std::string& message) const {
  throw GraphError(node_id(), param, message);
}

void NodeContext::fail_port(const std::string& port, const std::string& message) const {
  throw GraphError(node_id(), port, message);
}

}  // namespace camgraph

#include "camgraph/spec.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <stdexcept>

#include "camgraph/error.h"

namespace camgraph {

const PortSpec* NodeSpec::input(std::string_view name) const {
  for (const auto& p : inputs)
    if (p.name == name) return &p;
  return nullptr;
}
const PortSpec* NodeSpec::output(std::string_view name) const {
  for (const auto& p : outputs)
    if (p.name == name) return &p;
  return nullptr;
}
const ParamSpec* NodeSpec::param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

static json port_json(const PortSpec& p) {
  json j = {{"name", p.name}, {"type", std::string(to_string(p.type))}, {"doc", p.doc}};
  if (p.optional) j["optional"] = true;
  if (!p.overlay.empty()) {
    j["overlay"] = {{"kind", p.overlay.kind}};
    if (!p.overlay.images.empty()) j["overlay"]["images"] = p.overlay.images;
  }
  return j;
}

json NodeSpec::to_json() const {
  json j = {{"type", type}, {"version", version},     {"category", category},  {"title", title},
            {"doc", doc},   {"is_output", is_output}, {"cacheable", cacheable}};
  j["inputs"] = json::array();
  for (const auto& p : inputs) j["inputs"].push_back(port_json(p));
  j["outputs"] = json::array();
  for (const auto& p : outputs) j["outputs"].push_back(port_json(p));
  j["params"] = json::array();
  for (const auto& p : params) {
    json pj = {
        {"name", p.name}, {"type", std::string(to_string(p.type))}, {"default", p.default_value}, {"doc", p.doc}};
    if (p.min) pj["min"] = *p.min;
    if (p.max) pj["max"] = *p.max;
    if (!p.choices.empty()) pj["choices"] = p.choices;
    if (!p.file_filter.empty()) pj["file_filter"] = p.file_filter;
    if (p.is_input_file) pj["input_file"] = true;
    if (p.multiline) pj["multiline"] = true;
    j["params"].push_back(pj);
  }
  return j;
}

// ---------------------------------------------------------------------------------------------

ParamSpec p_int(std::string name, int64_t def, double min, double max, std::string doc) {
  return {std::move(name), ParamType::Int, def, min, max, {}, std::move(doc)};
}
ParamSpec p_float(std::string name, double def, double min, double max, std::string doc) {
  return {std::move(name), ParamType::Float, def, min, max, {}, std::move(doc)};
}
ParamSpec p_bool(std::string name, bool def, std::string doc) {
  return {std::move(name), ParamType::Bool, def, {}, {}, {}, std::move(doc)};
}
ParamSpec p_enum(std::string name, std::string def, std::vector<std::string> choices, std::string doc) {
  return {std::move(name), ParamType::Enum, std::move(def), {}, {}, std::move(choices), std::move(doc)};
}
ParamSpec p_string(std::string name, std::string def, std::string doc) {
  return {std::move(name), ParamType::String, std::move(def), {}, {}, {}, std::move(doc)};
}
ParamSpec p_text(std::string name, std::string def, std::string doc) {
  ParamSpec p = p_string(std::move(name), std::move(def), std::move(doc));
  p.multiline = true;
  return p;
}
ParamSpec p_input_path(std::string name, std::string def, std::string filter, std::string doc) {
  ParamSpec p{std::move(name), ParamType::Path, std::move(def), {}, {}, {}, std::move(doc), std::move(filter)};
  p.is_input_file = true;
  return p;
}
ParamSpec p_output_path(std::string name, std::string def, std::string doc) {
  return {std::move(name), ParamType::Path, std::move(def), {}, {}, {}, std::move(doc)};
}
ParamSpec p_colour(std::string name, std::string def, std::string doc) {
  return {std::move(name), ParamType::Colour, std::move(def), {}, {}, {}, std::move(doc)};
}
ParamSpec p_seed(std::string name, int64_t def, std::string doc) {
  return {std::move(name), ParamType::Seed, def, 0.0, 9007199254740991.0, {}, std::move(doc)};
}

ParamSpec outputs_unaffected(ParamSpec p) {
  p.affects_outputs = false;
  return p;
}

PortSpec with_overlay(PortSpec port, std::string kind, std::string images) {
  port.overlay = {std::move(kind), std::move(images)};
  return port;
}

static bool valid_identifier(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, re);
}

void Registry::add(NodeSpec spec) {
  auto bad = [&](const std::string& what) { throw std::logic_error("node spec '" + spec.type + "': " + what); };
  static const std::regex type_re("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+");
  if (!std::regex_match(spec.type, type_re))
    bad("type must look like 'prefix.name' (lower case, dots; docs/architecture.md, Node type names)");
  if (specs_.count(spec.type)) bad("registered twice");
  if (!spec.execute) bad("has no execute function");
  if (spec.version < 1) bad("version must be >= 1");
  if (spec.title.empty()) spec.title = spec.type;
  auto check_unique = [&](const auto& list, const char* kind) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (!valid_identifier(list[i].name)) bad(std::string(kind) + " '" + list[i].name + "' is not an identifier");
      for (size_t k = i + 1; k < list.size(); ++k)
        if (list[i].name == list[k].name) bad(std::string(kind) + " '" + list[i].name + "' declared twice");
    }
  };
  check_unique(spec.inputs, "input");
  check_unique(spec.outputs, "output");
  check_unique(spec.params, "parameter");
  for (const auto& o : spec.outputs)
    if (o.type == PortType::Any) bad("output '" + o.name + "' must have a concrete type");
  for (const auto& i : spec.inputs)
    if (!i.overlay.empty()) bad("input '" + i.name + "' declares an overlay (outputs only)");
  for (const auto& o : spec.outputs) {
    if (o.overlay.empty()) continue;
    const std::string what = "output '" + o.name + "' overlay '" + o.overlay.kind + "'";
    if (o.overlay.kind == "camera_path") {
      if (o.type != PortType::CameraPath) bad(what + " needs a CameraPath output");
    } else if (o.overlay.kind == "billboards") {
      const PortSpec* images = spec.output(o.overlay.images);
      if (o.type != PortType::Record) bad(what + " needs a Record output");
      if (!images || images->type != PortType::FrameSequence)
        bad(what + " needs `images`, the name of a FrameSequence output (the cutouts)");
    } else {
      bad(what + " is unknown (camera_path, billboards)");
    }
  }
  for (const auto& p : spec.params) {
    if (p.type == ParamType::Enum && p.choices.empty()) bad("enum parameter '" + p.name + "' has no choices");
    try {
      check_param(spec.type, p, p.default_value);
    } catch (const GraphError& e) {
      bad("default of '" + p.name + "' is invalid: " + e.problem().message);
    }
  }
  std::string key = spec.type;
  specs_.emplace(std::move(key), std::make_shared<const NodeSpec>(std::move(spec)));
}

const NodeSpec* Registry::find(std::string_view type) const {
  auto it = specs_.find(type);
  return it == specs_.end() ? nullptr : it->second.get();
}

std::vector<const NodeSpec*> Registry::all() const {
  std::vector<const NodeSpec*> out;
  for (const auto& [k, v] : specs_) out.push_back(v.get());
  return out;
}

json Registry::to_json() const {
  json types = json::array();
  for (const auto& i : port_type_table())
    types.push_back({{"name", std::string(i.name)}, {"colour", std::string(i.colour)}, {"doc", std::string(i.doc)}});
  json nodes = json::array();
  for (const auto* s : all()) nodes.push_back(s->to_json());
  return {{"port_types", types}, {"nodes", nodes}};
}

// ---------------------------------------------------------------------------------------------

static std::string fmt_num(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

static bool is_colour_string(const std::string& s) {
  static const std::regex re("#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})");
  return std::regex_match(s, re);
}

json check_param(const std::string& node_id, const ParamSpec& spec, const json& value) {
  auto fail = [&](const std::string& msg) -> json { throw GraphError(node_id, spec.name, msg); };
  auto check_range = [&](double v) {
    if (!std::isfinite(v)) fail("must be a finite number");
    if (spec.min && v < *spec.min) fail(fmt_num(v) + " is below the minimum " + fmt_num(*spec.min));
    if (spec.max && v > *spec.max) fail(fmt_num(v) + " is above the maximum " + fmt_num(*spec.max));
  };
  switch (spec.type) {
    case ParamType::Int:
    case ParamType::Seed: {
      if (value.is_number_integer()) {
        check_range(double(value.get<int64_t>()));
        return value.get<int64_t>();
      }
      if (value.is_number_float()) {
        double v = value.get<double>();
        if (v == std::floor(v) && std::abs(v) < 9e15) {
          check_range(v);
          return static_cast<int64_t>(v);
        }
      }
      return fail("expected an integer, got " + value.dump());
    }
    case ParamType::Float: {
      if (!value.is_number()) return fail("expected a number, got " + value.dump());
      double v = value.get<double>();
      check_range(v);
      return v;
    }
    case ParamType::Bool:
      if (!value.is_boolean()) return fail("expected true or false, got " + value.dump());
      return value;
    case ParamType::Enum: {
      if (!value.is_string()) return fail("expected one of the choices as a string, got " + value.dump());
      const auto s = value.get<std::string>();
      if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
        std::string list;
        for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
        return fail("'" + s + "' is not one of: " + list);
      }
      return value;
    }
    case ParamType::String:
    case ParamType::Path:
      if (!value.is_string()) return fail("expected a string, got " + value.dump());
      return value;
    case ParamType::Colour:
      if (!value.is_string() || !is_colour_string(value.get<std::string>()))
        return fail("expected a colour like \"#rrggbb\" or \"#rrggbbaa\", got " + value.dump());
      return value;
  }
  return fail("unknown parameter type");
}

json parse_param_text(const std::string& node_id, const ParamSpec& spec, const std::string& text) {
  auto fail = [&](const std::string& msg) -> json { throw GraphError(node_id, spec.name, msg); };
  json v;
  switch (spec.type) {
    case ParamType::Int:
    case ParamType::Seed: {
      size_t pos = 0;
      long long x = 0;
      try {
        x = std::stoll(text, &pos);
      } catch (...) {
        pos = 0;
      }
      if (pos != text.size() || text.empty()) return fail("'" + text + "' is not an integer");
      v = static_cast<int64_t>(x);
      break;
    }
    case ParamType::Float: {
      size_t pos = 0;
      double x = 0;
      try {
        x = std::stod(text, &pos);
      } catch (...) {
        pos = 0;
      }
      if (pos != text.size() || text.empty()) return fail("'" + text + "' is not a number");
      v = x;
      break;
    }
    case ParamType::Bool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") v = true;
      else if (text == "false" || text == "0" || text == "no" || text == "off") v = false;
      else return fail("'" + text + "' is not a boolean (true/false)");
      break;
    default: v = text;
  }
  return check_param(node_id, spec, v);
}

}  // namespace camgraph

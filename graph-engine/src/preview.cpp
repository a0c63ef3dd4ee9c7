// Registry's preview renderers (preview.h).
#include "camgraph/preview.h"

#include <stdexcept>

#include "camgraph/spec.h"

namespace camgraph {

void Registry::add_renderer(PortType type, ValueRenderer renderer) {
  const std::string what = "renderer for " + std::string(to_string(type)) + " values";
  if (!renderer.prepare) throw std::logic_error(what + " '" + renderer.name + "' has no prepare function");
  if (renderers_.count(type)) throw std::logic_error(what + " registered twice ('" + renderer.name + "')");
  if (!renderer.cuda_available) renderer.cuda_available = [] { return false; };
  renderers_.emplace(type, std::make_shared<const ValueRenderer>(std::move(renderer)));
}

const ValueRenderer* Registry::find_renderer(PortType type) const {
  auto it = renderers_.find(type);
  return it == renderers_.end() ? nullptr : it->second.get();
}

const ValueRenderer& Registry::renderer(PortType type) const {
  if (const ValueRenderer* r = find_renderer(type)) return *r;
  throw std::out_of_range("no preview renderer is registered for " + std::string(to_string(type)) +
                          " values (the node family that renders them is not in this registry)");
}

}  // namespace camgraph

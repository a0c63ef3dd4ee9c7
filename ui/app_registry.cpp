#include "app_registry.h"

#include <QtGlobal>

namespace camgraph::ui {
namespace {
const camgraph::Registry* g_registry = nullptr;
}

void setAppRegistry(const camgraph::Registry& registry) { g_registry = &registry; }

const camgraph::Registry& appRegistry() {
  if (!g_registry)
    qFatal("camgraph::ui::appRegistry(): no node registry; the app calls setAppRegistry() before loading the editor");
  return *g_registry;
}

}  // namespace camgraph::ui

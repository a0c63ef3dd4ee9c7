// Linked into every editor test and tool: the controllers created by the QML (and the default
// constructed ones) use this build's node families, as in the app (app/gui/main.cpp).
#include <QCoreApplication>

#include "app_registry.h"
#include "camgraph/builtin_nodes.h"

namespace {

void useBuiltinNodes() { camgraph::ui::setAppRegistry(camgraph::builtin_registry()); }

}  // namespace

// Runs when the test's QApplication is constructed, before any controller exists.
Q_COREAPP_STARTUP_FUNCTION(useBuiltinNodes)

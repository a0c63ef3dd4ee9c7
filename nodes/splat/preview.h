// The splat family's preview renderer: SplatScene values rendered by the rasterizer (raster/)
// for the editor's viewport, on CUDA in builds with the kernels and a device, else the CPU.
#pragma once

namespace camgraph {
class Registry;
}

namespace camgraph::splat {

// Registers the SplatScene renderer (called by register_splat_nodes).
void register_splat_preview(Registry& registry);

}  // namespace camgraph::splat

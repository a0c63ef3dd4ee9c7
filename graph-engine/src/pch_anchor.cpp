// Anchors the shared precompiled header (torch, json, std); nothing else.
namespace camgraph {
int pch_anchor_symbol = 0;
}

// frames.load's video path (video_load.cpp): fills `seq` from the file named by the node's `video`
// parameter with its start_frame, end_frame, stride, target_fps, scale and max_frames.
#pragma once
#include "camgraph/values.h"

namespace camgraph {
class NodeContext;
}

namespace camgraph::io {
void load_video_frames(NodeContext& ctx, FrameSequenceValue& seq);
}  // namespace camgraph::io

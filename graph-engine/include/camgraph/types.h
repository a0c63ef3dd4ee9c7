// Port and parameter types: the vocabulary shared by specs, .cgraph files and the editor.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace camgraph {

// What flows on a wire. Add a type here and in the table in types.cpp.
enum class PortType {
  Image,          // ImageValue: float tensor [H, W, C] (C = 3 or 4), colour-space tag
  Mask,           // MaskValue: float tensor [H, W] in [0, 1]
  FrameSequence,  // FrameSequenceValue: frames [N, H, W, C] + fps + one Camera per frame
  SplatScene,     // SplatSceneValue: Gaussian parameters
  Camera,         // CameraValue: intrinsics + world-to-camera
  CameraPath,     // CameraPathValue: one Camera per frame + fps
  Text,           // TextValue
  Record,         // RecordValue: JSON metadata
  Any,            // only for inputs of generic nodes (e.g. preview)
};

// Scalar parameter types.
enum class ParamType { Int, Float, Bool, Enum, String, Path, Colour, Seed };

struct PortTypeInfo {
  PortType type;
  std::string_view name;    // as written in specs and .cgraph files
  std::string_view colour;  // editor wire/port colour, #rrggbb
  std::string_view doc;
};

const std::vector<PortTypeInfo>& port_type_table();
std::string_view to_string(PortType t);
std::optional<PortType> port_type_from_string(std::string_view s);
std::string_view to_string(ParamType t);
std::optional<ParamType> param_type_from_string(std::string_view s);

// A value of type `from` may feed an input of type `to`.
bool port_types_compatible(PortType from, PortType to);

}  // namespace camgraph

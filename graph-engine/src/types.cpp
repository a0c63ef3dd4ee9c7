#include "camgraph/types.h"

namespace camgraph {

const std::vector<PortTypeInfo>& port_type_table() {
  static const std::vector<PortTypeInfo> table = {
      {PortType::Image, "Image", "#4fa3e0", "RGB or RGBA float image with a colour-space tag"},
      {PortType::Mask, "Mask", "#b0b0b0", "single-channel matte in [0, 1]"},
      {PortType::FrameSequence, "FrameSequence", "#e0a24f", "frames with fps and one camera per frame"},
      {PortType::SplatScene, "SplatScene", "#c04fe0", "3D Gaussian splat scene"},
      {PortType::Camera, "Camera", "#4fe07a", "pinhole camera: intrinsics and pose"},
      {PortType::CameraPath, "CameraPath", "#2fb87a", "one camera per frame, with fps"},
      {PortType::Text, "Text", "#e0d84f", "text (prompts, captions)"},
      {PortType::Record, "Record", "#8a8ad0", "structured metadata (JSON)"},
      {PortType::Any, "Any", "#ffffff", "any value"},
  };
  return table;
}

std::string_view to_string(PortType t) {
  for (const auto& i : port_type_table())
    if (i.type == t) return i.name;
  return "?";
}

std::optional<PortType> port_type_from_string(std::string_view s) {
  for (const auto& i : port_type_table())
    if (i.name == s) return i.type;
  return std::nullopt;
}

namespace {
constexpr std::pair<ParamType, std::string_view> kParamTypes[] = {
    {ParamType::Int, "int"},       {ParamType::Float, "float"},   {ParamType::Bool, "bool"},
    {ParamType::Enum, "enum"},     {ParamType::String, "string"}, {ParamType::Path, "path"},
    {ParamType::Colour, "colour"}, {ParamType::Seed, "seed"},
};
}

std::string_view to_string(ParamType t) {
  for (auto [k, n] : kParamTypes)
    if (k == t) return n;
  return "?";
}

std::optional<ParamType> param_type_from_string(std::string_view s) {
  for (auto [k, n] : kParamTypes)
    if (n == s) return k;
  return std::nullopt;
}

bool port_types_compatible(PortType from, PortType to) {
  if (to == PortType::Any || from == to) return true;
  // A mask is a single-channel image; an image feeds a mask input through its alpha/luma.
  return false;
}

}  // namespace camgraph

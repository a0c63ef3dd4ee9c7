// A bounded walk over an ONNX file's protobuf (ModelProto), run before OpenCV's importer gets the
// bytes: what the model holds (outputs, operator types, opset) and whether its weights are
// consistent. No ONNX runtime and no protobuf library: a reader of our own, over bytes in memory.
//
// Checked (each refusal a std::runtime_error "<source>: not a valid ONNX model: <problem> at byte N"):
// every varint, length and field of the walked messages stays inside its parent; at most 2 GB (the
// protobuf limit); an IR version, a graph with at least one node and one output; for every weight
// (graph initializers and Constant nodes' tensors): non-negative dims whose element count does not
// overflow, a known data type, data in the file (external data is refused) whose size matches the
// element count exactly. OpenCV then never sees a tensor that claims more than the file holds.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace camgraph {

struct OnnxSummary {
  std::vector<std::string> outputs;   // graph outputs, in order
  std::vector<std::string> op_types;  // distinct operator types, sorted
  int64_t opset = 0;                  // default-domain opset version
  int64_t ir_version = 0;
  size_t nodes = 0;
  size_t weights = 0;  // tensors checked (initializers and Constant values)
};

OnnxSummary inspect_onnx(std::string_view bytes, const std::string& source);

// Reads a whole ONNX file (a regular file of at most 2 GB); throws naming the path.
std::string read_onnx_file(const std::filesystem::path& path);

}  // namespace camgraph

// One weight file's tensors by name, whatever the container: `.safetensors` (memory-mapped, tensors
// read on request) or a torch.save zip (`.ckpt`, `.pt`, `.pth`, `.bin`) read through the project's
// restricted unpickler (camgraph/formats/torch_checkpoint.h; the "state_dict" entry of LDM
// checkpoints; foreign globals such as pytorch_lightning callbacks become inert placeholders,
// nothing is executed).
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace camgraph {
class SafetensorsReader;
}

namespace camgraph::sd {

class WeightFile {
 public:
  explicit WeightFile(const std::filesystem::path& path);  // throws naming the file
  ~WeightFile();
  WeightFile(const WeightFile&) = delete;
  WeightFile& operator=(const WeightFile&) = delete;

  const std::string& source() const { return source_; }
  const std::vector<std::string>& names() const { return names_; }  // sorted
  bool contains(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;  // throws naming file and key
  // CPU tensor; floating dtypes (F16/BF16/F64) converted to float32, others as stored.
  at::Tensor get_float(const std::string& name) const;

 private:
  std::string source_;
  std::unique_ptr<SafetensorsReader> st_;
  std::map<std::string, at::Tensor> ckpt_;
  std::vector<std::string> names_;
};

}  // namespace camgraph::sd

// WeightFile; see weight_file.h.
#include "sd/weight_file.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "camgraph/formats/torch_checkpoint.h"
#include "camgraph/safetensors.h"

namespace camgraph::sd {

WeightFile::WeightFile(const std::filesystem::path& path) : source_(path.string()) {
  if (path.extension() == ".safetensors" || !is_torch_zip_checkpoint(path)) {
    st_ = std::make_unique<SafetensorsReader>(path);
    for (const auto& [name, info] : st_->tensors()) names_.push_back(name);
    return;
  }
  CheckpointOptions opt;
  opt.strip_prefix = "";
  opt.allow_unknown_globals = true;
  ckpt_ = load_torch_checkpoint(path, opt);
  for (const auto& [name, t] : ckpt_) names_.push_back(name);
}

WeightFile::~WeightFile() = default;

bool WeightFile::contains(const std::string& name) const { return st_ ? st_->contains(name) : ckpt_.count(name) != 0; }

std::vector<int64_t> WeightFile::shape(const std::string& name) const {
  if (!contains(name)) throw std::runtime_error(source_ + ": missing tensor " + name);
  return st_ ? st_->tensors().at(name).shape : ckpt_.at(name).sizes().vec();
}

at::Tensor WeightFile::get_float(const std::string& name) const {
  if (!contains(name)) throw std::runtime_error(source_ + ": missing tensor " + name);
  if (st_) return st_->get_float(name);
  const at::Tensor& t = ckpt_.at(name);
  return at::isFloatingType(t.scalar_type()) ? t.to(at::kFloat) : t;
}

}  // namespace camgraph::sd

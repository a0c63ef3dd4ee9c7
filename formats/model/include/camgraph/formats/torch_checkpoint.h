// PyTorch checkpoints (`.pth`, `.pt`, `.pkl`, `.ckpt`, `.bin` written by torch.save since 1.6: a zip
// holding `<name>/data.pkl` and one raw file per storage `<name>/data/<key>`), read without Python
// and without executing anything from the file.
//
// The pickle is run by a restricted unpickler: it knows the opcodes a state_dict needs (protocols
// 2 to 5) and only these globals:
//   collections.OrderedDict, torch._utils._rebuild_tensor, torch._utils._rebuild_tensor_v2,
//   torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state,
//   torch.<Dtype>Storage (FloatStorage, HalfStorage, BFloat16Storage, ...), torch.<dtype>
//   (torch.float32... as a storage dtype).
// Any other global is refused with an error naming it and the file, unless
// `allow_unknown_globals` is set: then it becomes an inert placeholder that is never called
// (for training checkpoints whose extra entries name e.g. pytorch_lightning callbacks or numpy
// scalars); tensors are still only made by the rebuild functions above.
// Includes ATen's Tensor only. Library camgraph_model_formats (formats/model), shared by the families
// that read model weights (sd, depth, interp); `.safetensors` itself stays in the engine (disk cache).
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace camgraph {

struct CheckpointOptions {
  // Removed from the start of every key that has it ("" keeps keys as stored). DataParallel
  // checkpoints such as RIFE's flownet.pkl prefix every key with "module.".
  std::string strip_prefix = "module.";
  // Where the state dict sits in the pickled object, as a dotted path of dict keys ("state_dict",
  // "model.ema"). Empty: automatic. When the top object is a dict whose entry "state_dict",
  // "model_state_dict", "model", "module", "params_ema", "params", "net" or "ema" is itself a dict
  // holding tensors, that entry is used (first in this order); otherwise every tensor of the
  // whole object is returned with its dotted path.
  std::string entry;
  bool allow_unknown_globals = false;
};

// One tensor per key, in the order the file stores them (parameters in module order).
using TensorList = std::vector<std::pair<std::string, at::Tensor>>;

// Reads a torch.save zip checkpoint. Tensors are CPU, in the stored dtype, contiguous. Contiguous
// views of a storage share it here too; strided views are copied. Errors are std::runtime_error
// naming the file, the offset (zip) or byte (data.pkl) or key path, and the problem (not a zip,
// legacy pre-1.6 format, compressed entry, truncated data, forbidden global "module.name", missing
// storage, unknown opcode...), never an abort. Hostile files are bounded: every declared size,
// offset, shape and stride is checked for overflow and against what the file holds before anything
// is allocated; all storages together hold at most the file, copies of strided or stride-0 views at
// most twice the file plus 64 MiB; containers nest at most 1000 deep and never hold themselves.
TensorList load_torch_checkpoint_ordered(const std::filesystem::path& path, const CheckpointOptions& options = {});
std::map<std::string, at::Tensor> load_torch_checkpoint(const std::filesystem::path& path,
                                                        const CheckpointOptions& options = {});
// The same over a whole file's bytes in memory; `source` names them in errors.
TensorList load_torch_checkpoint_bytes(std::string_view bytes, const std::string& source,
                                       const CheckpointOptions& options = {});

// `.safetensors` through the engine's safetensors reader, anything else through
// load_torch_checkpoint. strip_prefix applies to both.
std::map<std::string, at::Tensor> load_state_dict_any(const std::filesystem::path& path,
                                                      const CheckpointOptions& options = {});

// True when the file starts like a zip (local header magic "PK\3\4").
bool is_torch_zip_checkpoint(const std::filesystem::path& path);

}  // namespace camgraph

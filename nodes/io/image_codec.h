// Image files <-> float tensors, through OpenCV's codecs.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

namespace camgraph::io {

// Decodes an image file: [H, W, C] float32 in [0, 1], C = 3 (RGB) or 4 (RGBA, straight alpha).
// 8- and 16-bit files; greyscale becomes RGB. Throws naming the file when missing or unreadable.
at::Tensor read_image(const std::filesystem::path& path);

// Encodes [H, W, C] (C = 1, 3 or 4) float in [0, 1] to the format of `extension` (".png",
// ".jpg", ".tif"...); bit_depth 8 or 16 (16 for PNG/TIFF only).
std::string encode_image(const at::Tensor& pixels, const std::string& extension, int bit_depth = 8,
                         int jpeg_quality = 95);

bool is_image_file(const std::filesystem::path& p);  // by extension

}  // namespace camgraph::io

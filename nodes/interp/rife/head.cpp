#include "interp/rife/head.h"

#include <torch/torch.h>

namespace camgraph::interp {

namespace nn = torch::nn;

HeadImpl::HeadImpl(int64_t mid, int64_t out) {
  cnn0 = register_module("cnn0", nn::Conv2d(nn::Conv2dOptions(3, mid, 3).stride(2).padding(1)));
  cnn1 = register_module("cnn1", nn::Conv2d(nn::Conv2dOptions(mid, mid, 3).stride(1).padding(1)));
  cnn2 = register_module("cnn2", nn::Conv2d(nn::Conv2dOptions(mid, mid, 3).stride(1).padding(1)));
  cnn3 = register_module("cnn3", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(mid, out, 4).stride(2).padding(1)));
}

at::Tensor HeadImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::leaky_relu(cnn0->forward(x), 0.2);
  y = at::leaky_relu(cnn1->forward(y), 0.2);
  y = at::leaky_relu(cnn2->forward(y), 0.2);
  return cnn3->forward(y);
}

}  // namespace camgraph::interp

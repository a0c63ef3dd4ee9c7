"""Writes the checkpoint-reader goldens with real torch.save (run with a Python that has torch, e.g.
Debian's python3-torch: /usr/bin/python3 formats/model/tests/golden/make_checkpoint_goldens.py).

Every value follows a formula the C++ test recomputes (no stored expectations):
  tiny_state_dict.pth  DataParallel-style OrderedDict ("module." keys, a `_metadata` attribute),
                       float32/float16/int64/bool tensors, a non-contiguous view sharing a storage,
                       an nn.Parameter, an empty tensor.
  training.ckpt        {"state_dict": OrderedDict, "global_step": 7, "epoch": 1.5,
                        "hparams": {"lr": 0.1}, "callbacks": <a class from this script>}; the class
                       is a forbidden global unless allow_unknown_globals is set.
"""
import collections
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))


def arange(shape, dtype=torch.float32, scale=0.25, offset=0.0):
    n = 1
    for s in shape:
        n *= s
    return (torch.arange(n, dtype=torch.float64) * scale + offset).reshape(shape).to(dtype)


class Callback:  # pickled by reference as __main__.Callback
    def __init__(self):
        self.monitor = "val_loss"


def main():
    base = arange((4, 6))
    sd = collections.OrderedDict()
    sd["module.conv.weight"] = arange((2, 3, 3, 3))
    sd["module.conv.bias"] = arange((2,), offset=-1.0)
    sd["module.half"] = arange((5,), dtype=torch.float16, scale=0.5)
    sd["module.steps"] = torch.tensor([3, -4, 5_000_000_000], dtype=torch.int64)
    sd["module.flags"] = torch.tensor([True, False, True])
    sd["module.base"] = base
    sd["module.view_t"] = base.t()            # stride (1, 6), shares base's storage
    sd["module.view_slice"] = base[1:3, 2:5]  # offset 8, shares base's storage
    sd["module.beta"] = torch.nn.Parameter(arange((1, 3, 1, 1), offset=1.0))
    sd["module.empty"] = torch.zeros((0, 3))
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(here, "tiny_state_dict.pth"))

    ckpt = {
        "state_dict": collections.OrderedDict(
            [("model.w", arange((3, 2), offset=2.0)), ("model.b", arange((2,), scale=-1.0))]),
        "global_step": 7,
        "epoch": 1.5,
        "hparams": {"lr": 0.1},
        "callbacks": Callback(),
    }
    torch.save(ckpt, os.path.join(here, "training.ckpt"))


if __name__ == "__main__":
    main()

"""Tiny random IFNets (Practical-RIFE 4.x layouts, narrow channels) and their outputs, as goldens for
the C++ IFNet (run: /usr/bin/python3 nodes/interp/tests/golden/make_ifnet_goldens.py; needs torch,
e.g. Debian's python3-torch 1.13).

The reference below is written from the published architecture description (IFBlock: two stride-2
conv+LeakyReLU, n residual convs with a per-channel beta, ConvTranspose 4x4/2 + PixelShuffle 2;
multi-scale loop over scale_list; backward warping with grid_sample(border, align_corners=True)).

Files (each a torch.save, read back by the C++ test through camgraph's checkpoint reader):
  ifnet_v46_tiny.pkl    weights as users get flownet.pkl: OrderedDict, keys prefixed "module."
                        (4.6 layout: no encoder, 4 blocks, 6 output channels, mask accumulates)
  ifnet_v425_tiny.pkl   4.25 layout: Head encoder, 5 blocks, 13 output channels (8 feature
                        channels passed on), mask replaced per block
  ifnet_io.pkl          {"img0", "img1": [1,3,64,128]; "out_v46_t0.5", "out_v46_t0.3",
                         "out_v425_t0.5": [1,3,64,128]}
"""
import collections
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(0.2, True))


class ResConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))

    def forward(self, x):
        return F.leaky_relu(self.conv(x) * self.beta + x, 0.2)


class IFBlock(nn.Module):
    def __init__(self, cin, c, out, nres):
        super().__init__()
        self.conv0 = nn.Sequential(conv(cin, c // 2), conv(c // 2, c))
        self.convblock = nn.Sequential(*[ResConv(c) for _ in range(nres)])
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 4 * out, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x, flow, scale):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        tmp = self.lastconv(self.convblock(self.conv0(x)))
        tmp = F.interpolate(tmp, scale_factor=scale, mode="bilinear", align_corners=False)
        return tmp[:, :4] * scale, tmp[:, 4:5], tmp[:, 5:]


class Head(nn.Module):
    def __init__(self, mid, out):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, mid, 3, 2, 1)
        self.cnn1 = nn.Conv2d(mid, mid, 3, 1, 1)
        self.cnn2 = nn.Conv2d(mid, mid, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(mid, out, 4, 2, 1)

    def forward(self, x):
        x = F.leaky_relu(self.cnn0(x), 0.2)
        x = F.leaky_relu(self.cnn1(x), 0.2)
        x = F.leaky_relu(self.cnn2(x), 0.2)
        return self.cnn3(x)


def warp(x, flow):
    b, _, h, w = x.shape
    gx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(b, 1, h, w)
    gy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(b, 1, h, w)
    f = torch.cat([flow[:, 0:1] / ((w - 1.0) / 2.0), flow[:, 1:2] / ((h - 1.0) / 2.0)], 1)
    g = (torch.cat([gx, gy], 1) + f).permute(0, 2, 3, 1)
    return F.grid_sample(x, g, mode="bilinear", padding_mode="border", align_corners=True)


class IFNet(nn.Module):
    def __init__(self, widths, enc=None, out=6, nres=8):
        super().__init__()
        n = len(widths)
        self.enc = enc  # (mid, out) or None
        ef = 0 if enc is None else enc[1]
        feat = out - 5 if out > 6 else 0  # 4*6 outputs: flow 4, mask 1, one unused channel
        self.feat = feat
        for i, c in enumerate(widths):
            cin = 7 + 2 * ef if i == 0 else 8 + 4 + 2 * ef + feat
            setattr(self, f"block{i}", IFBlock(cin, c, out, nres))
        if enc is not None:
            self.encode = Head(*enc)
        self.scale_list = [2.0 ** (n - 1 - i) for i in range(n)]

    def forward(self, img0, img1, t):
        timestep = torch.full_like(img0[:, :1], t)
        f0 = f1 = None
        if self.enc is not None:
            f0, f1 = self.encode(img0), self.encode(img1)
        flow = mask = feat = None
        w0, w1 = img0, img1
        for i, s in enumerate(self.scale_list):
            block = getattr(self, f"block{i}")
            if flow is None:
                parts = [img0, img1] + ([f0, f1] if f0 is not None else []) + [timestep]
                flow, mask, feat = block(torch.cat(parts, 1), None, s)
            else:
                parts = [w0, w1]
                if f0 is not None:
                    parts += [warp(f0, flow[:, :2]), warp(f1, flow[:, 2:4])]
                parts += [timestep, mask]
                if self.feat > 0:
                    parts.append(feat)
                fd, m0, feat = block(torch.cat(parts, 1), flow, s)
                mask = m0 if self.enc is not None else mask + m0
                flow = flow + fd
            w0, w1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return w0 * m + w1 * (1 - m)


def randomize(net, gen):
    # Small random weights so that flows stay a few pixels and the sigmoid mask is not saturated.
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("beta"):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            else:
                fan = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / fan) ** 0.5)


def save_weights(net, path):
    sd = collections.OrderedDict(("module." + k, v.clone()) for k, v in net.state_dict().items())
    torch.save(sd, path)


def main():
    gen = torch.Generator().manual_seed(46)
    v46 = IFNet([16, 12, 8, 8], enc=None, out=6, nres=2).eval()
    randomize(v46, gen)
    v425 = IFNet([16, 12, 8, 8, 8], enc=(8, 4), out=13, nres=2).eval()
    randomize(v425, gen)
    save_weights(v46, os.path.join(here, "ifnet_v46_tiny.pkl"))
    save_weights(v425, os.path.join(here, "ifnet_v425_tiny.pkl"))

    # Two frames: a smooth pattern and the same pattern shifted by (3, 2) pixels.
    h, w = 64, 128
    y = torch.arange(h, dtype=torch.float32).view(h, 1)
    x = torch.arange(w, dtype=torch.float32).view(1, w)

    def pattern(dx, dy):
        xs, ys = x - dx, y - dy
        r = 0.5 + 0.4 * torch.sin(xs * 0.21) * torch.cos(ys * 0.17)
        g = 0.5 + 0.4 * torch.cos(xs * 0.13 + ys * 0.11)
        b = ((xs + ys) / (w + h)).expand(h, w)
        return torch.stack([r.expand(h, w), g.expand(h, w), b], 0).unsqueeze(0).contiguous()

    img0, img1 = pattern(0, 0), pattern(3, 2)
    with torch.no_grad():
        io = collections.OrderedDict()
        io["img0"] = img0
        io["img1"] = img1
        io["out_v46_t0.5"] = v46(img0, img1, 0.5)
        io["out_v46_t0.3"] = v46(img0, img1, 0.3)
        io["out_v425_t0.5"] = v425(img0, img1, 0.5)
    torch.save(io, os.path.join(here, "ifnet_io.pkl"))
    for k, v in io.items():
        print(k, tuple(v.shape), float(v.mean()), float(v.std()))


if __name__ == "__main__":
    main()

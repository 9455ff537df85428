#!/usr/bin/python3
"""Peer baseline for TRAINING speed: the same feed-forward style network as
../../shared/bench/peer_torch.py (Johnson et al. 2016 as PyTorch's fast_neural_style builds
it: reflection pad, instance norm, residual blocks, nearest upsample + conv), with the
widths / depth / outer kernel of a given StyleNetConfig, trained with Adam on a loss of
similar cost to the project's: a fixed random 4-layer conv network (3x3, 32/64/128/128,
He init, ReLU, 2x2 average pooling), Gram matrices at every layer for the output at 1x and
0.5x scale against a fixed target, content at the second layer against the input.

Usage: peer_train_torch.py SIZE BATCH STEPS THREADS C1 C2 C3 RESIDUAL_BLOCKS OUTER_KERNEL
Prints one line: torch <version> ... median_ms=<ms per training step>
"""
import sys, time, torch
from torch import nn
import torch.nn.functional as F


class ConvLayer(nn.Module):
    def __init__(s, cin, cout, k, stride, upsample=None):
        super().__init__(); s.up = upsample
        s.pad = nn.ReflectionPad2d(k // 2); s.conv = nn.Conv2d(cin, cout, k, stride)
    def forward(s, x):
        if s.up: x = F.interpolate(x, mode="nearest", scale_factor=s.up)
        return s.conv(s.pad(x))


class Res(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c1, s.n1 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
        s.c2, s.n2 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
    def forward(s, x): return x + s.n2(s.c2(torch.relu(s.n1(s.c1(x)))))


def style_net(c1, c2, c3, blocks, k):
    L = []
    for cin, cout, kk, st in [(3, c1, k, 1), (c1, c2, 3, 2), (c2, c3, 3, 2)]:
        L += [ConvLayer(cin, cout, kk, st), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]
    L += [Res(c3) for _ in range(blocks)]
    for cin, cout in [(c3, c2), (c2, c1)]:
        L += [ConvLayer(cin, cout, 3, 1, upsample=2), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]
    L += [ConvLayer(c1, 3, k, 1), nn.Sigmoid()]
    return nn.Sequential(*L)


class RandomFeatures(nn.Module):
    def __init__(s):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        chans, cin, s.w = [32, 64, 128, 128], 3, []
        for c in chans:
            s.w.append(torch.randn(c, cin, 3, 3, generator=g) * (2 / (9 * cin)) ** 0.5); cin = c
    def forward(s, x, layers=4):
        out, h = [], (x - 0.45) * 4
        for i, w in enumerate(s.w[:layers]):
            if i > 0: h = F.avg_pool2d(h, 2)
            h = torch.relu(F.conv2d(h, w, padding=1)); out.append(h)
        return out


def gram(f):
    b, c, h, w = f.shape
    r = f.reshape(b, c, h * w)
    return r @ r.transpose(1, 2) / (h * w)


if __name__ == "__main__":
    size, batch, steps, threads, c1, c2, c3, blocks, k = map(int, sys.argv[1:10])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net, feats = style_net(c1, c2, c3, blocks, k), RandomFeatures()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, size, size)
    with torch.no_grad():
        style = torch.rand(1, 3, size, size)
        targets = {s: [gram(f) for f in feats(F.interpolate(style, scale_factor=s) if s != 1 else style)] for s in (1, 0.5)}

    def step():
        opt.zero_grad()
        out = net(x)
        loss = 0
        for s, tg in targets.items():
            fo = feats(out if s == 1 else F.interpolate(out, scale_factor=s, mode="bilinear"))
            loss = loss + sum(((gram(f) - t) ** 2).mean() for f, t in zip(fo, tg))
            if s == 1:
                with torch.no_grad():
                    fp = feats(x, 2)[1]
                loss = loss + ((fo[1] - fp) ** 2).mean()
        loss.backward(); opt.step()

    step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
    ts.sort()
    print(f"torch {torch.__version__} size={size} batch={batch} threads={threads} median_ms={ts[len(ts) // 2] * 1000:.0f}")

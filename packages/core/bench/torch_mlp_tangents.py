#!/usr/bin/env python3
"""PyTorch reference for bench/mlp-tangents.mjs: the same SELU MLP NN([x, t]) with a
hand-written forward-mode tangent in t, loss = (sum v^2 + sum v'^2) / B, forward + backward.
Prints one JSON object. Usage: python3 torch_mlp_tangents.py --widths 64,256 --batch 1024 --reps 20 --threads 1
"""
import argparse, json, time
import torch
from torch import nn

L, A = 1.0507009873554805, 1.6732632423543772


def make(width, din=3, dout=4):
    dims = [din] + [width] * 4 + [dout]
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))


def jet_loss(layers, x, t):
    h = torch.cat([x, t], 1)
    dh = torch.cat([torch.zeros_like(x), torch.ones_like(t)], 1)
    for i, lin in enumerate(layers):
        h = lin(h)
        dh = dh @ lin.weight.t()
        if i < len(layers) - 1:
            d = torch.where(h > 0, torch.full_like(h, L), L * A * torch.exp(torch.clamp(h, max=0)))
            h = torch.selu(h)
            dh = dh * d
    return ((h ** 2).sum() + (dh ** 2).sum()) / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="64,256")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.batch, 2)
    t = torch.rand(a.batch, 1)
    results = []
    for w in [int(s) for s in a.widths.split(",")]:
        layers = make(w)
        for _ in range(3):
            jet_loss(layers, x, t).backward()
        times = []
        for _ in range(a.reps):
            for p in layers.parameters():
                p.grad = None
            t0 = time.perf_counter()
            jet_loss(layers, x, t).backward()
            times.append(1e3 * (time.perf_counter() - t0))
        times.sort()
        n = len(times)
        med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
        results.append({"width": w, "median_ms": med, "reps": a.reps})
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "results": results}))


if __name__ == "__main__":
    main()

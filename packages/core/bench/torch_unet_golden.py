#!/usr/bin/env python3
"""PyTorch (float64) golden values for the U-Net test (test/unet-golden.test.ts).

Rebuilds the two UNets of test/fixtures/unet-golden-inputs.json (written by
bench/unet-golden-weights.mjs) from the definitions in src/nn/image/unet.ts with stock torch
layers, NCHW: F.conv2d (HWIO kernels -> OIHW; 3x3 padding 1, stride-2 down-sampling =
Conv2d(3, stride=2, padding=1)), GroupNorm (eps 1e-5; checked against F.group_norm), SiLU,
nearest x2 F.interpolate, F.avg_pool2d(2), single-head softmax attention over the H*W pixels (q, k, v = the three
C-channel thirds of one 1x1 conv, scale 1/sqrt(C)), the sinusoidal embedding
e(t) = [sin(w t), cos(w t)] with the stored frequencies w, and the time MLP
Dense -> SiLU -> Dense whose SiLU feeds every ResBlock's Dense. Every stored number is read as
float32 (as the TS side holds it) and then computed in float64.

Time derivatives (x fixed) come from forward mode: U' and U'' by functorch.jvp of functorch.jvp
(torch 1.13's forward_ad supports one dual level only), cross-checked against a single
torch.autograd.forward_ad dual level for U' and central differences of U' for U''. The
gradient of L = mean(U^2) + mean(U'^2) (means over all B*H*W*C entries) w.r.t. every trainable
parameter is reverse mode through the jvp outputs, cross-checked against reverse mode through
the forward_ad tangent. Leaves are kept in the TS layouts (kernels HWIO, Dense weights
[in, out]), so gradients come out in those layouts. Values are written to 7 significant digits.

Writes test/fixtures/unet-golden.json:
  { torch, loss: "mean(U^2) + mean(U'^2)",
    nets: { adm|compact: { loss, U, dU, d2U: {shape [B, H, W, C] (NHWC), values},
                           grads: { name: {shape, values} } } } }

Regenerate (from packages/core, after `npx turbo run build --filter=@nfdm/core`):
  node bench/unet-golden-weights.mjs                 # -> test/fixtures/unet-golden-inputs.json
  /usr/bin/python3 bench/torch_unet_golden.py        # -> test/fixtures/unet-golden.json
"""
import json
import math
import os

import functorch
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
EPS = 1e-5


def f32(values, shape):
    """Stored numbers as the float32 the TS side holds, then float64."""
    return torch.tensor(values, dtype=torch.float32).reshape(shape).to(torch.float64)


class Net:
    """A UNet of unet.ts given its parameters by TS name (TS layouts); structure from the names."""

    def __init__(self, options, params):
        self.o = options
        self.p = params
        self.used = set()
        self.adm = options["layout"] == "adm"
        self.levels = len(options["multipliers"])
        self.stock_group_norm = False
        self.stock_softmax = True

    def has(self, name):
        return any(k.startswith(name + ".") for k in self.p)

    def get(self, name):
        self.used.add(name)
        return self.p[name]

    def conv(self, name, h, stride=1):
        k = self.get(name + ".kernel")  # [k, k, Cin, Cout]
        return F.conv2d(h, k.permute(3, 2, 0, 1), self.get(name + ".bias"), stride=stride, padding=(k.shape[0] - 1) // 2)

    def norm(self, name, h):
        gamma, beta = self.get(name + ".weight"), self.get(name + ".bias")
        if self.stock_group_norm:
            return F.group_norm(h, self.o["groups"], gamma, beta, EPS)
        # The textbook form (functorch 1.13 cannot take F.group_norm's jvp of a jvp here).
        B, C, H, W = h.shape
        g = h.reshape(B, self.o["groups"], -1)
        c = g - g.mean(-1, keepdim=True)
        hat = c / torch.sqrt((c**2).mean(-1, keepdim=True) + EPS)
        return hat.reshape(B, C, H, W) * gamma[:, None, None] + beta[:, None, None]

    def dense(self, name, h):
        return h @ self.get(name + ".weight") + self.get(name + ".bias")

    def block(self, name, h, temb):
        y = self.conv(name + ".conv1", F.silu(self.norm(name + ".norm1", h)))
        y = y + self.dense(name + ".time", temb)[:, :, None, None]
        y = self.conv(name + ".conv2", F.silu(self.norm(name + ".norm2", y)))
        skip = self.conv(name + ".skip", h) if self.has(name + ".skip") else h
        return skip + y

    def softmax(self, s):
        if self.stock_softmax:
            return torch.softmax(s, dim=-1)
        # exp / sum (torch 1.13 cannot run reverse mode through forward_ad's softmax tangent).
        e = torch.exp(s - s.max(-1, keepdim=True).values.detach())
        return e / e.sum(-1, keepdim=True)

    def attention(self, name, h):
        if not self.has(name):
            return h
        B, C, H, W = h.shape
        qkv = self.conv(name + ".qkv", self.norm(name + ".norm", h)).reshape(B, 3 * C, H * W).transpose(1, 2)
        q, k, v = qkv[..., :C], qkv[..., C : 2 * C], qkv[..., 2 * C :]
        a = self.softmax(q @ k.transpose(1, 2) / math.sqrt(C))
        o = (a @ v).transpose(1, 2).reshape(B, C, H, W)
        return h + self.conv(name + ".proj", o)

    def __call__(self, x, t):
        """x [B, Cin, H, W], t [B, 1] -> U [B, Cout, H, W]."""
        w = self.get("embedding.frequencies")
        e = torch.cat([torch.sin(t * w), torch.cos(t * w)], 1)
        temb = F.silu(self.dense("time.layers.1", F.silu(self.dense("time.layers.0", e))))
        h = self.conv("in", x)
        skips = [h] if self.adm else []
        for i in range(self.levels):
            r = 0
            while self.has(f"down.{i}.{r}"):
                h = self.attention(f"down.{i}.{r}.attn", self.block(f"down.{i}.{r}", h, temb))
                skips.append(h)
                r += 1
            if i < self.levels - 1:
                if self.adm:
                    h = self.conv(f"down.{i}.sample", h, stride=2)
                    skips.append(h)
                else:
                    h = F.avg_pool2d(h, 2)
        h = self.block("mid.0", h, temb)
        h = self.attention("mid.attn", h)
        if self.has("mid.1"):
            h = self.block("mid.1", h, temb)
        for i in range(self.levels):
            r = 0
            while self.has(f"up.{i}.{r}"):
                h = self.block(f"up.{i}.{r}", torch.cat([h, skips.pop()], 1), temb)
                h = self.attention(f"up.{i}.{r}.attn", h)
                r += 1
            if i < self.levels - 1:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
                if self.adm:
                    h = self.conv(f"up.{i}.sample", h)
        assert not skips, f"{len(skips)} skips left over"
        return self.conv("out.conv", F.silu(self.norm("out.norm", h)))


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def golden(spec, x, t):
    params = {}
    for p in spec["parameters"]:
        v = f32(p["values"], p["shape"])
        params[p["name"]] = v.requires_grad_(True) if p["trainable"] else v
    trainable = [p["name"] for p in spec["parameters"] if p["trainable"]]
    net = Net(spec["options"], params)
    one = torch.ones_like(t)

    def jet1(tt):
        return functorch.jvp(lambda s: net(x, s), (tt,), (one,))

    (u, u1), (u1b, u2) = functorch.jvp(jet1, (t,), (one,))
    unused = set(params) - net.used
    assert not unused, f"parameters not used by the rebuild: {sorted(unused)}"
    loss = (u**2).mean() + (u1**2).mean()
    grads = torch.autograd.grad(loss, [params[n] for n in trainable])

    # Cross-checks: forward_ad for U' and, reverse through its tangent, the gradient; central
    # differences of U' for U''.
    with torch.no_grad():
        assert rel(u1b, u1) < 1e-12
    net.stock_softmax = False
    with fwAD.dual_level():
        dual = fwAD.unpack_dual(net(x, fwAD.make_dual(t, one)))
        v, v1 = dual.primal, dual.tangent
        loss2 = (v**2).mean() + (v1**2).mean()
    grads2 = torch.autograd.grad(loss2, [params[n] for n in trainable])
    with torch.no_grad():
        assert rel(v, u) < 1e-12 and rel(v1, u1) < 1e-12, (rel(v, u), rel(v1, u1))
        worst = max(rel(a, b) for a, b in zip(grads2, grads))
        assert worst < 1e-10, worst
        d = 1e-6
        fd = (jet1(t + d)[1] - jet1(t - d)[1]) / (2 * d)
        fd_rel = rel(fd, u2)
        assert fd_rel < 1e-5, fd_rel
        net.stock_group_norm = True
        assert rel(net(x, t), u) < 1e-12
    print(
        f"{spec['options']['layout']}: |U| {u.abs().max():.3g}, |U'| {u1.abs().max():.3g}, |U''| {u2.abs().max():.3g}, "
        f"loss {loss.item():.6g}; forward_ad gradient vs jvp {worst:.1e}, U'' vs central differences {fd_rel:.1e}"
    )

    def nhwc(a):
        a = a.detach().permute(0, 2, 3, 1)
        return {"shape": list(a.shape), "values": [float(f"{v:.7g}") for v in a.flatten().tolist()]}

    return {
        "loss": loss.item(),
        "U": nhwc(u),
        "dU": nhwc(u1),
        "d2U": nhwc(u2),
        "grads": {
            n: {"shape": list(g.shape), "values": [float(f"{v:.7g}") for v in g.flatten().tolist()]}
            for n, g in zip(trainable, grads)
        },
    }


def main():
    torch.set_num_threads(1)
    with open(os.path.join(FIXTURES, "unet-golden-inputs.json")) as fh:
        inputs = json.load(fh)
    x = f32(inputs["x"]["values"], inputs["x"]["shape"]).permute(0, 3, 1, 2)  # NHWC -> NCHW
    t = f32(inputs["t"]["values"], inputs["t"]["shape"])
    out = {
        "torch": torch.__version__,
        "loss": "mean(U^2) + mean(U'^2)",
        "nets": {k: golden(spec, x, t) for k, spec in inputs["nets"].items()},
    }
    path = os.path.join(FIXTURES, "unet-golden.json")
    with open(path, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()

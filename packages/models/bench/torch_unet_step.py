#!/usr/bin/env python3
"""PyTorch reference for bench/unet-step.mjs: the NFDM training step on issue 17's reference U-Net.

The same model as bench/unet-reference.mjs builds in TS, 28x28x1 images, NCHW, float32:

- two U-Nets in unet.ts's `compact` layout (multipliers 1, 2, 2; one ResBlock per level;
  GroupNorm(8); no attention): time embedding e(t) = [sin(w t), cos(w t)], base/2 frequencies
  0.1 ... 1000 (geometric; ADM's embedding of 1000 t) -> Dense(4 base) -> SiLU -> Dense(4 base);
  input conv3 -> base; per level one ResBlock(c -> base m) = GN -> SiLU -> conv3 -> + Dense(SiLU(temb))
  -> GN -> SiLU -> conv3, plus a 1x1 conv skip when channels change; 2x2 average pooling between
  levels; a middle ResBlock; up path per level one ResBlock on concat(h, skip), nearest x2 between
  levels; output GN -> SiLU -> conv3. The network code is the repository's own rebuild of the TS
  U-Net, `Net` of packages/core/bench/torch_unet_golden.py (checked against the TS U-Net by
  packages/core/test/unet-golden.test.ts), imported from there; parameters carry the TS names and
  layouts and are initialised as in TS (U(+-1/sqrt(fan_in)); each ResBlock's second conv and the
  output conv at zero; GroupNorm 1, 0);
- the NFDM forward process (src/forward/neural.ts), delta = 0.01, the U-Net giving m and l (2 channels):
      mu = (1 - t) x + t(1 - t) m,   sigma = exp((1 - t) log delta + t(1 - t) l),
  with d mu/dt, d sigma/dt (x held fixed) by torch.autograd.forward_ad (one dual level in t), at x and
  at xhat (or functorch.jvp with --jvp functorch);
- the predictor (src/predictor.ts): xhat = (1 - t) z + (t + 0.01) NN(z, t), no tangent;
- the volatility g(t) = softplus(MLP(t)), a SELU MLP 1 -> 4x64 -> 1 of raw t (the `nfdm` preset), or g = 1
  (--volatility constant);
- the loss of src/objective.ts (as packages/models/bench/torch_unet_nfdm_golden.py, which checks it
  against the TS loss): t ~ U(0, 1), eps ~ N(0, I), z = mu + sigma eps,
      f_true = dmu + dsigma eps + (g2/2) eps / sigma,   e = (z - mu_h)/sigma_h,
      f_pred = dmu_h + dsigma_h e + (g2/2) e / sigma_h,
      loss = mean_b ||f_true - f_pred||^2 / (2 g2);
- then loss.backward() and torch.optim.Adam(lr 1e-3), as Trainer.trainStep (no EMA, no clipping).

Timing as bench/unet-step.mjs: `--warmup` untimed steps, then `--repeats` timed ones (data, noise,
loss, backward, Adam); median and quartiles. Prints one JSON object (train_step_ms_median, _p25,
_p75, every step's ms, parameter counts, peak RSS, torch version and threads).

Run: /usr/bin/python3 bench/torch_unet_step.py --base 16 --batch 32 --threads 1 [--repeats 5]
     /usr/bin/python3 bench/torch_unet_step.py --check     (stock vs textbook GroupNorm, forward_ad vs functorch, float64)
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "core", "bench"))
from torch_unet_golden import Net  # noqa: E402

DELTA = 0.01  # the forward process's delta (bench/unet-reference.mjs)
OFFSET = 0.01  # the predictor's offset c
IMAGE = (28, 28, 1)  # height, width, channels
MULTIPLIERS = [1, 2, 2]
GROUPS = 8
EMBEDDING = (0.1, 1000.0)  # min, max frequency of the sinusoidal time embedding


def uniform(shape, fan_in, gen):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's (and core's 'torch') default init."""
    bound = 1 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=gen) * 2 - 1) * bound


def unet_parameters(base, cin, cout, gen):
    """The compact UNet's parameters by TS name (unet.ts), TS layouts: kernels HWIO, Dense weights [in, out]."""
    p = {}

    def dense(name, n_in, n_out):
        p[name + ".weight"] = uniform((n_in, n_out), n_in, gen)
        p[name + ".bias"] = uniform((n_out,), n_in, gen)

    def conv(name, c_in, c_out, k=3, zero=False):
        fan = k * k * c_in
        p[name + ".kernel"] = torch.zeros(k, k, c_in, c_out) if zero else uniform((k, k, c_in, c_out), fan, gen)
        p[name + ".bias"] = torch.zeros(c_out) if zero else uniform((c_out,), fan, gen)

    def norm(name, c):
        p[name + ".weight"] = torch.ones(c)
        p[name + ".bias"] = torch.zeros(c)

    def block(name, c_in, c_out):
        norm(name + ".norm1", c_in)
        conv(name + ".conv1", c_in, c_out)
        dense(name + ".time", 4 * base, c_out)
        norm(name + ".norm2", c_out)
        conv(name + ".conv2", c_out, c_out, zero=True)
        if c_in != c_out:
            conv(name + ".skip", c_in, c_out, k=1)

    half = base // 2
    lo, hi = EMBEDDING
    p["embedding.frequencies"] = torch.tensor([lo * (hi / lo) ** (k / (half - 1)) if half > 1 else lo for k in range(half)])
    dense("time.layers.0", base, 4 * base)
    dense("time.layers.1", 4 * base, 4 * base)
    conv("in", cin, base)
    ch, skips = base, []
    for i, m in enumerate(MULTIPLIERS):
        block(f"down.{i}.0", ch, base * m)
        ch = base * m
        skips.append(ch)
    block("mid.0", ch, ch)
    for j, i in enumerate(reversed(range(len(MULTIPLIERS)))):
        block(f"up.{j}.0", ch + skips.pop(), base * MULTIPLIERS[i])
        ch = base * MULTIPLIERS[i]
    norm("out.norm", ch)
    conv("out.conv", ch, cout, zero=True)
    return p


def make_net(base, cin, cout, gen, dtype):
    """A Net (torch_unet_golden.py) in the compact layout with fresh trainable leaves; (net, trainable leaves)."""
    params = {n: v.to(dtype) for n, v in unet_parameters(base, cin, cout, gen).items()}
    leaves = []
    for name, v in params.items():
        if name != "embedding.frequencies":
            v.requires_grad_(True)
            leaves.append(v)
    net = Net({"layout": "compact", "groups": GROUPS, "multipliers": MULTIPLIERS}, params)
    net.stock_group_norm = True  # F.group_norm: forward_ad and its reverse pass work at one dual level
    return net, leaves


class Volatility:
    """g(t) = softplus(MLP(t)): SELU MLP of raw t, widths 1 -> 64 x 4 -> 1 (volatility.ts), or the constant 1."""

    def __init__(self, kind, gen, dtype, hidden=(64, 64, 64, 64)):
        self.kind = kind
        widths = [1, *hidden, 1]
        self.layers = []
        if kind == "neural":
            for a, b in zip(widths[:-1], widths[1:]):
                w, bias = uniform((a, b), a, gen), uniform((b,), a, gen)
                self.layers.append((w.to(dtype).requires_grad_(True), bias.to(dtype).requires_grad_(True)))

    def leaves(self):
        return [p for layer in self.layers for p in layer]

    def g2(self, t):
        if self.kind != "neural":
            return torch.ones_like(t)
        h = t
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = torch.selu(h)
        return F.softplus(h) ** 2


class NFDMStep:
    """The reference model and its loss (module doc). Images NCHW [B, C, H, W], t [B, 1]."""

    def __init__(self, base, volatility, jvp, gen, dtype=torch.float32):
        C = IMAGE[2]
        self.C = C
        self.fnet, fleaves = make_net(base, C, 2 * C, gen, dtype)
        self.pnet, pleaves = make_net(base, C, C, gen, dtype)
        self.vol = Volatility(volatility, gen, dtype)
        self.jvp = jvp
        self.groups = {"forward": fleaves, "predictor": pleaves, "volatility": self.vol.leaves()}

    def leaves(self):
        return [p for group in self.groups.values() for p in group]

    def mu_sigma(self, x, t):
        """mu, sigma of neural.ts for images x and times t [B, 1] (t may be a dual tensor)."""
        u = self.fnet(x, t)
        m, l = u[:, : self.C], u[:, self.C :]
        s = t.reshape(-1, 1, 1, 1)
        mu = (1 - s) * x + s * (1 - s) * m
        sigma = torch.exp((1 - s) * math.log(DELTA) + s * (1 - s) * l)
        return mu, sigma

    def params(self, x, t):
        """mu, sigma, dmu/dt, dsigma/dt at fixed x: one forward-mode pass in t."""
        if self.jvp == "functorch":
            import functorch

            (mu, sigma), (dmu, dsigma) = functorch.jvp(lambda s: self.mu_sigma(x, s), (t,), (torch.ones_like(t),))
            return mu, sigma, dmu, dsigma
        with fwAD.dual_level():
            mu, sigma = self.mu_sigma(x, fwAD.make_dual(t, torch.ones_like(t)))
            mu, dmu = fwAD.unpack_dual(mu)
            sigma, dsigma = fwAD.unpack_dual(sigma)
        return mu, sigma, dmu, dsigma

    def loss(self, x, t, eps):
        mu, sigma, dmu, dsigma = self.params(x, t)
        z = mu + sigma * eps
        g2 = self.vol.g2(t).reshape(-1, 1, 1, 1)
        f_true = dmu + dsigma * eps + 0.5 * g2 * eps / sigma
        s = t.reshape(-1, 1, 1, 1)
        xhat = (1 - s) * z + (s + OFFSET) * self.pnet(z, t)
        mu_h, sigma_h, dmu_h, dsigma_h = self.params(xhat, t)
        e = (z - mu_h) / sigma_h
        f_pred = dmu_h + dsigma_h * e + 0.5 * g2 * e / sigma_h
        per = 0.5 * ((f_true - f_pred) ** 2).sum((1, 2, 3)) / g2.reshape(-1)
        return per.mean()


def quantile(sorted_values, q):
    """Linear interpolation between order statistics (numpy's default, unet-reference.mjs's quantile)."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def run(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    step_model = NFDMStep(a.base, a.volatility, a.jvp, gen)
    opt = torch.optim.Adam(step_model.leaves(), lr=1e-3)
    H, W, C = IMAGE
    times, losses = [], []
    for i in range(a.warmup + a.repeats):
        t0 = time.perf_counter()
        x = torch.rand(a.batch, C, H, W, generator=gen) * 2 - 1
        t = torch.rand(a.batch, 1, generator=gen)
        eps = torch.randn(a.batch, C, H, W, generator=gen)
        opt.zero_grad(set_to_none=True)
        loss = step_model.loss(x, t, eps)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if i >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
    ts = sorted(times)
    return {
        "bench": "torch-unet-step",
        "base": a.base,
        "batch": a.batch,
        "layout": "compact",
        "volatility": a.volatility,
        "jvp": "functorch.jvp" if a.jvp == "functorch" else "torch.autograd.forward_ad",
        "threads": a.threads,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "warmup": a.warmup,
        "repeats": a.repeats,
        "train_step_ms_median": quantile(ts, 0.5),
        "train_step_ms_p25": quantile(ts, 0.25),
        "train_step_ms_p75": quantile(ts, 0.75),
        "train_step_ms": [round(v, 1) for v in times],
        "params": {k: sum(p.numel() for p in v) for k, v in step_model.groups.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "losses": [float(f"{v:.6g}") for v in losses],
    }


def check(a):
    """float64, batch 3, base 16: the timed path (stock F.group_norm, forward_ad) gives the loss and gradients of
    the golden tests' path (textbook GroupNorm, functorch.jvp)."""
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    model = NFDMStep(16, a.volatility, "forward_ad", gen, dtype=torch.float64)
    for net in (model.fnet, model.pnet):  # non-zero second convs so every path carries signal
        for name, v in net.p.items():
            if name.endswith(("conv2.kernel", "out.conv.kernel")):
                with torch.no_grad():
                    v.copy_(torch.randn(v.shape, generator=gen, dtype=torch.float64) * 0.1)
    H, W, C = IMAGE
    x = torch.rand(3, C, H, W, generator=gen, dtype=torch.float64) * 2 - 1
    t = torch.rand(3, 1, generator=gen, dtype=torch.float64)
    eps = torch.randn(3, C, H, W, generator=gen, dtype=torch.float64)
    a_loss = model.loss(x, t, eps)
    a_grads = torch.autograd.grad(a_loss, model.leaves())
    model.jvp = "functorch"
    model.fnet.stock_group_norm = model.pnet.stock_group_norm = False
    b_loss = model.loss(x, t, eps)
    b_grads = torch.autograd.grad(b_loss, model.leaves())
    # Relative to the largest gradient entry: with 1-channel groups (base 8) GroupNorm removes per-channel
    # constants, so the gradients of the biases before it are 0 up to rounding in both paths.
    scale = max(g.abs().max().item() for g in b_grads)
    worst = max((g1 - g2).abs().max().item() for g1, g2 in zip(a_grads, b_grads)) / scale
    out = {
        "check": "stock GN + forward_ad vs textbook GN + functorch.jvp (float64)",
        "loss": a_loss.item(),
        "loss_rel": abs(a_loss.item() / b_loss.item() - 1),
        "grad_rel_max": worst,
    }
    assert out["loss_rel"] < 1e-10 and worst < 1e-8, out
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--volatility", default="neural", choices=["neural", "constant"])
    ap.add_argument("--jvp", default="forward_ad", choices=["forward_ad", "functorch"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="check the timed path against the golden one and exit")
    a = ap.parse_args()
    print(json.dumps(check(a) if a.check else run(a)))


if __name__ == "__main__":
    main()

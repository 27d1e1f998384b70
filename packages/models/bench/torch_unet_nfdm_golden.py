#!/usr/bin/env python3
"""PyTorch (float64) golden NFDM loss and gradients with U-Nets (test/unet-nfdm-golden.test.ts).

Rebuilds the model of test/fixtures/unet-nfdm-golden-inputs.json (written by
bench/unet-nfdm-golden-inputs.mjs) from the TS definitions:

- the two U-Nets with the `Net` class of packages/core/bench/torch_unet_golden.py (stock torch
  layers, NCHW; itself checked against the TS U-Net by packages/core/test/unet-golden.test.ts),
  behind TimeUNet's row layout (src/nn/image/time-unet.ts): a row x [64] is an NHWC 8x8x1
  image, and the 2-map output of the forward-process U-Net is [m | l] = [channel 0 | channel 1],
  each flattened NHWC;
- the NFDM forward process (src/forward/neural.ts), delta = 0.01:
      mu = (1 - t) x + t(1 - t) m,   log sigma = (1 - t) log delta + t(1 - t) l,
  with d mu/dt, d sigma/dt (x held fixed) by functorch.jvp of t -> (mu, sigma); cross-checked
  against the closed forms of neural.ts with the U-Net tangents (m', l'), against a single
  torch.autograd.forward_ad dual level, and against central differences in t;
- the predictor (src/predictor.ts, 'data'): xhat = (1 - t) z + (t + 0.01) NN(z, t), NN the 'adm'
  U-Net (no time derivative: xhat is held fixed inside the drift's partials);
- the neural volatility (src/volatility.ts): g = softplus(Dense(SELU(Dense(t)))), hidden [8],
  raw t as input, floor 0;
- the bound's diffusion term (src/objective.ts, src/forward/gaussian.ts), t0 = 0:
      z = mu + sigma eps,  g2 = g^2,
      fB_true = dmu + dsigma eps + (g2/2) eps / sigma                  (at x, epsilon form)
      e_hat = (z - mu_h) / sigma_h,   fB_pred = dmu_h + dsigma_h e_hat + (g2/2) e_hat / sigma_h
                                                                      (at xhat, from z)
      loss = mean_b (1 - t0) ||fB_true - fB_pred||^2 / (2 g2).
The gradient of the loss w.r.t. every trainable parameter is reverse mode through the jvp
outputs, cross-checked against reverse mode through the forward_ad tangents and against central
differences of the loss along a seeded random direction of all parameters. Every stored number
is read as float32 (as the TS side holds it) and then computed in float64. Leaves are kept in the
TS layouts (kernels HWIO, Dense weights [in, out]), so gradients come out in those layouts;
values are written to 7 significant digits.

Writes test/fixtures/unet-nfdm-golden.json:
  { torch, loss, perSample: [B], g2: [B], grads: { name: {shape, values} } }

Regenerate (from packages/models, after `npx turbo run build --filter=@nfdm/models...`):
  node bench/unet-nfdm-golden-inputs.mjs              # -> test/fixtures/unet-nfdm-golden-inputs.json
  /usr/bin/python3 bench/torch_unet_nfdm_golden.py    # -> test/fixtures/unet-nfdm-golden.json
"""
import json
import math
import os
import sys

import functorch
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
sys.path.insert(0, os.path.join(HERE, "..", "..", "core", "bench"))
from torch_unet_golden import Net, f32, rel  # noqa: E402

DELTA = 0.01  # NeuralGaussianProcess's default delta
OFFSET = 0.01  # Predictor's default offset c
T0 = 0.0  # the NFDM process starts at t0 = 0


class TimeUNet:
    """TimeUNet (time-unet.ts): rows [B, H*W*C] -> [B, maps*H*W*C], blocks of H*W*C per map."""

    def __init__(self, network, params, maps):
        self.image = network["image"]
        self.maps = maps
        self.net = Net(network, params)

    def __call__(self, x, t):
        H, W, C = self.image["height"], self.image["width"], self.image["channels"]
        B = x.shape[0]
        u = self.net(x.reshape(B, H, W, C).permute(0, 3, 1, 2), t)  # NCHW [B, maps*C, H, W]
        u = u.permute(0, 2, 3, 1).reshape(B, H * W, self.maps, C).transpose(1, 2)
        return u.reshape(B, self.maps * H * W * C)


class Model:
    def __init__(self, config, params):
        D = config["dim"]
        self.D = D

        def sub(prefix):
            return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}

        self.fnet = TimeUNet(config["forward"]["network"], sub("forward.net."), 2)
        self.pnet = TimeUNet(config["predictor"]["network"], sub("predictor.net."), 1)
        self.vol = sub("volatility.net.net.layers.")
        assert len(self.vol) == 4, sorted(self.vol)

    def mu_sigma(self, x, t, u):
        m, l = u[:, : self.D], u[:, self.D :]
        mu = (1 - t) * x + t * (1 - t) * m
        sigma = torch.exp((1 - t) * math.log(DELTA) + t * (1 - t) * l)
        return mu, sigma

    def params(self, x, t):
        """mu, sigma and their t-derivatives (x fixed), by functorch.jvp of t -> (mu, sigma)."""
        (mu, sigma), (dmu, dsigma) = functorch.jvp(lambda s: self.mu_sigma(x, s, self.fnet(x, s)), (t,), (torch.ones_like(t),))
        return mu, sigma, dmu, dsigma

    def params_closed_form(self, x, t):
        """The same from neural.ts's closed forms with the U-Net's own tangents (m', l')."""
        u, u1 = functorch.jvp(lambda s: self.fnet(x, s), (t,), (torch.ones_like(t),))
        m, l, m1, l1 = u[:, : self.D], u[:, self.D :], u1[:, : self.D], u1[:, self.D :]
        mu, sigma = self.mu_sigma(x, t, u)
        dmu = -x + (1 - 2 * t) * m + t * (1 - t) * m1
        dl = -math.log(DELTA) + (1 - 2 * t) * l + t * (1 - t) * l1
        return mu, sigma, dmu, sigma * dl

    def params_forward_ad(self, x, t):
        with fwAD.dual_level():
            s = fwAD.make_dual(t, torch.ones_like(t))
            mu, sigma = self.mu_sigma(x, s, self.fnet(x, s))
            mu, dmu = fwAD.unpack_dual(mu)
            sigma, dsigma = fwAD.unpack_dual(sigma)
        return mu, sigma, dmu, dsigma

    def g2(self, t):
        v = self.vol
        h = torch.selu(t @ v["0.weight"] + v["0.bias"])
        return F.softplus(h @ v["1.weight"] + v["1.bias"]) ** 2

    def xhat(self, z, t):
        return (1 - t) * z + (t + OFFSET) * self.pnet(z, t)

    def terms(self, x, t, eps, params=None):
        params = params or self.params
        mu, sigma, dmu, dsigma = params(x, t)
        z = mu + sigma * eps
        g2 = self.g2(t)
        f_true = dmu + dsigma * eps + 0.5 * g2 * eps / sigma
        xh = self.xhat(z, t)
        mu_h, sigma_h, dmu_h, dsigma_h = params(xh, t)
        e_hat = (z - mu_h) / sigma_h
        f_pred = dmu_h + dsigma_h * e_hat + 0.5 * g2 * e_hat / sigma_h
        per = (1 - T0) * 0.5 * ((f_true - f_pred) ** 2).sum(1) / g2.reshape(-1)
        return per, g2, sigma


def main():
    torch.set_num_threads(1)
    with open(os.path.join(FIXTURES, "unet-nfdm-golden-inputs.json")) as fh:
        inputs = json.load(fh)
    config = inputs["config"]
    fwd, pred, vol = config["forward"], config["predictor"], config["volatility"]
    # The rebuild covers exactly this configuration (defaults as in the TS code).
    assert fwd["kind"] == "nfdm" and fwd.get("delta", DELTA) == DELTA
    assert pred.get("parametrization", "data") == "data" and pred.get("offset", OFFSET) == OFFSET
    assert vol["kind"] == "neural" and vol["hidden"] == [8] and vol.get("activation", "selu") == "selu"
    assert vol.get("floor", 0) == 0
    for net in (fwd["network"], pred["network"]):
        assert net.get("numResBlocks", 1) == 1

    params = {}
    for p in inputs["parameters"]:
        v = f32(p["values"], p["shape"])
        params[p["name"]] = v.requires_grad_(True) if p["trainable"] else v
    trainable = [p["name"] for p in inputs["parameters"] if p["trainable"]]
    model = Model(config, params)
    x = f32(inputs["x"]["values"], inputs["x"]["shape"])
    t = f32(inputs["noise"]["t"]["values"], inputs["noise"]["t"]["shape"])
    eps = f32(inputs["noise"]["eps"]["values"], inputs["noise"]["eps"]["shape"])

    per, g2, sigma = model.terms(x, t, eps)
    unused = {f"forward.net.{n}" for n in set(model.fnet.net.p) - model.fnet.net.used}
    unused |= {f"predictor.net.{n}" for n in set(model.pnet.net.p) - model.pnet.net.used}
    assert not unused, f"parameters not used by the rebuild: {sorted(unused)}"
    loss = per.mean()
    leaves = [params[n] for n in trainable]
    grads = torch.autograd.grad(loss, leaves)

    # Cross-checks of the time derivatives: closed forms, forward_ad, central differences in t.
    with torch.no_grad():
        ref = model.params(x, t)
        for other in (model.params_closed_form(x, t), model.params_forward_ad(x, t)):
            worst = max(rel(a, b) for a, b in zip(other, ref))
            assert worst < 1e-12, worst
        d = 1e-6
        up, down = model.params(x, t + d), model.params(x, t - d)
        fd = max(rel((up[i] - down[i]) / (2 * d), ref[i + 2]) for i in (0, 1))
        assert fd < 1e-6, fd
    # ... and of the gradient: reverse mode through forward_ad's tangents instead of functorch's.
    per2, _, _ = model.terms(x, t, eps, model.params_forward_ad)
    grads2 = torch.autograd.grad(per2.mean(), leaves)
    with torch.no_grad():
        assert rel(per2, per) < 1e-12
        worst_grad = max(rel(a, b) for a, b in zip(grads2, grads))
        assert worst_grad < 1e-10, worst_grad
        flat = torch.cat([g.flatten() for g in grads])
        # ... and against central differences of the loss along a seeded random direction v of
        # all trainable parameters: (L(p + hv) - L(p - hv)) / 2h = <grad, v>.
        gen = torch.Generator().manual_seed(0)
        v = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in leaves]
        h = 1e-6

        def shifted(sign):
            for p, dp in zip(leaves, v):
                p.add_(sign * h * dp)
            value = model.terms(x, t, eps)[0].mean()
            for p, dp in zip(leaves, v):
                p.sub_(sign * h * dp)
            return value

        slope = sum((g * dp).sum() for g, dp in zip(grads, v))
        fd_slope = (shifted(1) - shifted(-1)) / (2 * h)
        fd_grad = abs(fd_slope / slope - 1).item()
        assert fd_grad < 1e-6, fd_grad
    print(
        f"loss {loss.item():.9g}; per sample {[f'{v:.6g}' for v in per.tolist()]}; g2 {[f'{v:.4g}' for v in g2.flatten().tolist()]}; "
        f"sigma {sigma.min().item():.3g} … {sigma.max().item():.3g}; max |grad| {flat.abs().max().item():.4g}; "
        f"dmu/dsigma vs central differences {fd:.1e}; forward_ad gradient vs jvp {worst_grad:.1e}; "
        f"directional derivative vs central differences {fd_grad:.1e}"
    )

    def short(values):
        return [float(f"{v:.7g}") for v in values]

    out = {
        "torch": torch.__version__,
        "loss": loss.item(),
        "perSample": per.tolist(),
        "g2": g2.flatten().tolist(),
        "grads": {n: {"shape": list(g.shape), "values": short(g.flatten().tolist())} for n, g in zip(trainable, grads)},
    }
    path = os.path.join(FIXTURES, "unet-nfdm-golden.json")
    with open(path, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()

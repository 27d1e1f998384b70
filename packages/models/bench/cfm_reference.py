#!/usr/bin/env python3
"""PyTorch (float64) golden values of the flow-matching losses (test/cfm-golden.test.ts).

Everything is generated here, deterministically (torch.manual_seed(0)), and written with the
results, so the TS test only reads the committed fixture:

- the velocity network of src/cfm/model.ts with hidden [16, 16]: TimeMLP without an embedding,
  i.e. NN([z, t]) = Linear(3, 16) -> SELU -> Linear(16, 16) -> SELU -> Linear(16, 2), weights in
  torch's Linear layout [out, in] (what MLP.loadTorchLinear reads); every weight and input is
  rounded to float32 first (as the TS side holds it), then the maths runs in float64;
- a batch of B = 8 data rows x, noise rows eps ~ N(0, I) and times t ~ U(0, 1);
- the path in nfdm's time convention (t = 0 data, t = 1 prior), src/cfm/objective.ts:
      x_t = (1 - t) x + (sigma_min + (1 - sigma_min) t) eps,   u_t = (1 - sigma_min) eps - x,
      loss = mean((v(x_t, t) - u_t)^2)          (element mean over rows and coordinates);
- CFM (independent coupling) at sigma_min = 0 and 0.1, with d loss / d W1 (first layer weight);
- OT-CFM: the permutation pi minimising sum_i ||x_i - eps_pi(i)||^2 found by brute force over all
  8! permutations, and the loss with eps_pi(i) paired to x_i (sigma_min = 0).

Regenerate (from packages/models):  /usr/bin/python3 bench/cfm_reference.py
writes test/fixtures/cfm_golden.json.
"""
import itertools
import json
import os

import torch

torch.manual_seed(0)
B, D, H = 8, 2, 16


def f32(t):
    return t.to(torch.float32).to(torch.float64)


layers = [torch.nn.Linear(D + 1, H), torch.nn.Linear(H, H), torch.nn.Linear(H, D)]
weights = [(f32(l.weight.detach()), f32(l.bias.detach())) for l in layers]
x = f32(torch.randn(B, D) * 0.7 + torch.tensor([1.0, -0.5]))
eps = f32(torch.randn(B, D))
t = f32(torch.rand(B, 1))


def velocity(params, z, tt):
    h = torch.cat([z, tt], dim=1)
    for k, (w, b) in enumerate(params):
        h = h @ w.T + b
        if k < len(params) - 1:
            h = torch.nn.functional.selu(h)
    return h


def loss(params, xx, ee, tt, sigma_min):
    xt = (1 - tt) * xx + (sigma_min + (1 - sigma_min) * tt) * ee
    ut = (1 - sigma_min) * ee - xx
    return torch.mean((velocity(params, xt, tt) - ut) ** 2)


def loss_and_grad(ee, sigma_min):
    params = [(w.clone().requires_grad_(True), b.clone()) for w, b in weights]
    value = loss(params, x, ee, t, sigma_min)
    value.backward()
    return value.item(), params[0][0].grad.tolist()


def brute_force_ot(xx, ee):
    cost = ((xx[:, None, :] - ee[None, :, :]) ** 2).sum(-1)
    best, best_perm = None, None
    for perm in itertools.permutations(range(B)):
        c = cost[torch.arange(B), torch.tensor(perm)].sum().item()
        if best is None or c < best:
            best, best_perm = c, perm
    return list(best_perm), best


cfm0, grad0 = loss_and_grad(eps, 0.0)
cfm1, grad1 = loss_and_grad(eps, 0.1)
perm, ot_cost = brute_force_ot(x, eps)
ot_loss, ot_grad = loss_and_grad(eps[torch.tensor(perm)], 0.0)
independent_cost = ((x - eps) ** 2).sum().item()

out = {
    "torch": torch.__version__,
    "layers": [{"weight": w.tolist(), "bias": b.tolist()} for w, b in weights],
    "x": x.tolist(),
    "eps": eps.tolist(),
    "t": t.tolist(),
    "cfm": [
        {"sigmaMin": 0.0, "loss": cfm0, "gradW1": grad0},
        {"sigmaMin": 0.1, "loss": cfm1, "gradW1": grad1},
    ],
    "ot": {"perm": perm, "cost": ot_cost, "independentCost": independent_cost, "loss": ot_loss, "gradW1": ot_grad},
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "cfm_golden.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {path}: CFM loss {cfm0:.6f} (sigma_min 0), {cfm1:.6f} (0.1); OT-CFM {ot_loss:.6f}, perm {perm}")

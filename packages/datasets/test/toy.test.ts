import { Rng } from '@nfdm/core';
import { describe, expect, it } from 'vitest';
import {
  type DataMatrix,
  knnEntropy,
  knnEntropyProfile,
  labelledToyNames,
  PAIRED_TASKS,
  samplePaired,
  sampleToy,
  sampleToyLabelled,
  TOY_DATASETS,
  type ToyName,
  toyNames,
} from '../src/index.js';

const N = 20_000;
// biome-ignore lint/suspicious/noApproximativeNumericConstant: FFJORD's 8gaussians divides by 1.414, not √2
const FFJORD_ROOT2 = 1.414;

function moments(m: DataMatrix) {
  let mx = 0;
  let my = 0;
  let sx = 0;
  let sy = 0;
  let r1 = 0;
  let r2 = 0;
  for (let i = 0; i < m.n; i++) {
    const x = m.data[2 * i];
    const y = m.data[2 * i + 1];
    mx += x;
    my += y;
    sx += x * x;
    sy += y * y;
    const r = Math.hypot(x, y);
    r1 += r;
    r2 += r * r;
  }
  const n = m.n;
  return {
    mean: [mx / n, my / n],
    std: [Math.sqrt(sx / n - (mx / n) ** 2), Math.sqrt(sy / n - (my / n) ** 2)],
    meanRadius: r1 / n,
    stdRadius: Math.sqrt(r2 / n - (r1 / n) ** 2),
    meanSqRadius: r2 / n,
  };
}

const rows = (m: DataMatrix) => Array.from({ length: m.n }, (_, i) => [m.data[2 * i], m.data[2 * i + 1]]);

describe('registry', () => {
  it('lists the eight generators with the spec entropy floors', () => {
    expect(toyNames()).toEqual(['checkerboard', '8gaussians', 'rings', 'circles', 'moons', 'swissroll', '2spirals', 'pinwheel']);
    const floors = Object.fromEntries(toyNames().map((n) => [n, TOY_DATASETS[n].entropy]));
    expect(floors).toEqual({
      checkerboard: Math.log(32),
      '8gaussians': 2.838,
      rings: 2.627,
      circles: 3.264,
      moons: 2.396,
      swissroll: 2.675,
      '2spirals': 2.651,
      pinwheel: 2.32,
    });
    expect(floors.checkerboard).toBeCloseTo(3.466, 3);
    for (const name of toyNames()) expect(TOY_DATASETS[name].description.length).toBeGreaterThan(10);
  });

  it('returns n points, except pinwheel (5⌊n/5⌋) and 2spirals (2⌊n/2⌋)', () => {
    for (const name of toyNames()) {
      for (const n of [0, 1, 7, 10, 13]) {
        const m = sampleToy(name, n, 1);
        const expected = name === 'pinwheel' ? 5 * Math.floor(n / 5) : name === '2spirals' ? 2 * Math.floor(n / 2) : n;
        expect([name, m.n, m.dim, m.data.length]).toEqual([name, expected, 2, 2 * expected]);
        expect(TOY_DATASETS[name].size(n)).toBe(expected);
      }
    }
  });

  it('rejects unknown names and bad sizes', () => {
    expect(() => sampleToy('spiral', 10)).toThrow(/unknown toy dataset 'spiral'; known: checkerboard, 8gaussians/);
    expect(() => sampleToy('moons', -1)).toThrow(/non-negative integer/);
    expect(() => sampleToy('moons', 2.5)).toThrow(/non-negative integer/);
  });
});

describe('seeding', () => {
  it('the same seed gives identical points, different seeds different ones', () => {
    for (const name of toyNames()) {
      const a = sampleToy(name, 500, 42);
      expect(sampleToy(name, 500, 42).data).toEqual(a.data);
      expect(sampleToy(name, 500, new Rng(42)).data).toEqual(a.data);
      expect(sampleToy(name, 500, 43).data).not.toEqual(a.data);
    }
  });

  it('an Rng argument is advanced in place, so consecutive calls differ', () => {
    const rng = new Rng(5);
    const a = sampleToy('moons', 100, rng);
    const b = sampleToy('moons', 100, rng);
    expect(a.data).not.toEqual(b.data);
    const again = new Rng(5);
    sampleToy('moons', 100, again);
    expect(sampleToy('moons', 100, again).data).toEqual(b.data);
  });
});

// Population statistics from an independent NumPy transcription of FFJORD's toy_data.py and
// sklearn's make_* (test/fixtures/toy_reference.py, 2,000,000 samples each).
const NUMPY_REFERENCE: Record<ToyName, { std: [number, number]; meanRadius: number; stdRadius: number }> = {
  checkerboard: { std: [2.3085, 2.3109], meanRadius: 3.061, stdRadius: 1.1399 },
  '8gaussians': { std: [2.0318, 2.0309], meanRadius: 2.8511, stdRadius: 0.3521 },
  rings: { std: [1.4546, 1.4546], meanRadius: 1.8772, stdRadius: 0.8413 },
  circles: { std: [1.6943, 1.6942], meanRadius: 2.2646, stdRadius: 0.7825 },
  moons: { std: [1.7437, 1.0083], meanRadius: 1.8755, stdRadius: 0.7936 },
  swissroll: { std: [1.3397, 1.4042], meanRadius: 1.8965, stdRadius: 0.576 },
  '2spirals': { std: [1.61, 1.5828], meanRadius: 2.1206, stdRadius: 0.7749 },
  pinwheel: { std: [1.4838, 1.4826], meanRadius: 2.0112, stdRadius: 0.5956 },
};

describe('sample statistics match the definitions', () => {
  it('std and radius moments agree with the NumPy reference (20k samples, ±0.03)', () => {
    for (const name of toyNames()) {
      const s = moments(sampleToy(name, N, 11));
      const ref = NUMPY_REFERENCE[name];
      expect(Math.abs(s.std[0] - ref.std[0]), name).toBeLessThan(0.03);
      expect(Math.abs(s.std[1] - ref.std[1]), name).toBeLessThan(0.03);
      expect(Math.abs(s.meanRadius - ref.meanRadius), name).toBeLessThan(0.03);
      expect(Math.abs(s.stdRadius - ref.stdRadius), name).toBeLessThan(0.03);
    }
  });

  it('checkerboard: uniform on the 8 dark squares of side 2 in [−4, 4)²', () => {
    const m = sampleToy('checkerboard', N, 1);
    const counts = new Map<string, number>();
    let outside = 0;
    for (const [x, y] of rows(m)) {
      const cx = Math.floor(x / 2);
      const cy = Math.floor(y / 2);
      if (!(x >= -4 && x < 4 && y >= -4 && y < 4) || (((cx + cy) % 2) + 2) % 2 !== 0) outside++; // only the "even" squares
      counts.set(`${cx},${cy}`, (counts.get(`${cx},${cy}`) ?? 0) + 1);
    }
    expect(outside).toBe(0);
    expect(counts.size).toBe(8);
    const se = Math.sqrt((N * (1 / 8) * (7 / 8)) as number);
    for (const c of counts.values()) expect(Math.abs(c - N / 8)).toBeLessThan(5 * se);
    const s = moments(m);
    expect(Math.abs(s.mean[0])).toBeLessThan(0.07);
    expect(Math.abs(s.mean[1])).toBeLessThan(0.07);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(16 / 3), 1); // x = 2·U[−2, 2): var 16/3
  });

  it('8gaussians: 8 equally likely clusters at radius 4/1.414 with std 0.5/1.414', () => {
    const m = sampleToy('8gaussians', N, 2);
    const r = 4 / FFJORD_ROOT2;
    const counts = new Array(8).fill(0);
    const dev: number[] = [];
    for (const [x, y] of rows(m)) {
      const k = (Math.round(Math.atan2(y, x) / (Math.PI / 4)) + 8) % 8;
      counts[k]++;
      dev.push(x - r * Math.cos((k * Math.PI) / 4), y - r * Math.sin((k * Math.PI) / 4));
    }
    const se = Math.sqrt(N * (1 / 8) * (7 / 8));
    for (const c of counts) expect(Math.abs(c - N / 8)).toBeLessThan(5 * se);
    const mean = dev.reduce((a, b) => a + b, 0) / dev.length;
    const std = Math.sqrt(dev.reduce((a, b) => a + b * b, 0) / dev.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeCloseTo(0.5 / FFJORD_ROOT2, 2);
    expect(moments(m).meanSqRadius).toBeCloseTo((16 + 2 * 0.25) / FFJORD_ROOT2 ** 2, 1);
  });

  it('rings: radii 3, 2.25, 1.5, 0.75 with ⌊n/4⌋ points each and the rest on the smallest', () => {
    const n = 4003; // ⌊n/4⌋ = 1000, smallest ring 1003
    const m = sampleToy('rings', n, 3);
    const radii = [3, 2.25, 1.5, 0.75];
    const byRing: number[][] = [[], [], [], []];
    for (const [x, y] of rows(m)) {
      const r = Math.hypot(x, y);
      const k = radii.reduce((best, v, i) => (Math.abs(r - v) < Math.abs(r - radii[best]) ? i : best), 0);
      byRing[k].push(r);
    }
    expect(byRing.map((b) => b.length)).toEqual([1000, 1000, 1000, 1003]);
    byRing.forEach((b, k) => {
      const mean = b.reduce((a, v) => a + v, 0) / b.length;
      const std = Math.sqrt(b.reduce((a, v) => a + (v - mean) ** 2, 0) / b.length);
      expect(Math.abs(mean - radii[k])).toBeLessThan(0.015);
      expect(Math.abs(std - 0.08)).toBeLessThan(0.01); // noise after the ×3 scaling
    });
    // Shuffled: the first quarter is not all one ring.
    const firstQuarter = rows(m)
      .slice(0, 1000)
      .map(([x, y]) => Math.hypot(x, y));
    expect(Math.min(...firstQuarter)).toBeLessThan(1);
    expect(Math.max(...firstQuarter)).toBeGreaterThan(2.8);
  });

  it('circles: ⌊n/2⌋ on radius 3, the rest on radius 1.5, radial noise 3·0.08', () => {
    const m = sampleToy('circles', N + 1, 4);
    const outer: number[] = [];
    const inner: number[] = [];
    for (const [x, y] of rows(m)) {
      const r = Math.hypot(x, y);
      (r > 2.25 ? outer : inner).push(r);
    }
    expect(Math.abs(outer.length - N / 2)).toBeLessThan(40); // 3σ gap: ~0.1% cross over
    for (const [set, radius] of [
      [outer, 3],
      [inner, 1.5],
    ] as const) {
      const mean = set.reduce((a, v) => a + v, 0) / set.length;
      const std = Math.sqrt(set.reduce((a, v) => a + (v - mean) ** 2, 0) / set.length);
      expect(Math.abs(mean - radius)).toBeLessThan(0.03);
      expect(Math.abs(std - 0.24)).toBeLessThan(0.015);
    }
    expect(moments(m).meanSqRadius).toBeCloseTo((9 + 2.25) / 2 + 2 * 0.24 ** 2, 1);
  });

  it('moons: two half-circle arcs with noise 0.1, mapped by 2x + (−1, −0.2)', () => {
    const m = sampleToy('moons', N, 5);
    // Undo the affine map, then measure the squared distance to the nearer noiseless arc.
    const arc = (px: number, py: number, cx: number, cy: number, upper: boolean) => {
      const qx = px - cx;
      const qy = py - cy;
      if (upper ? qy >= 0 : qy <= 0) return (Math.hypot(qx, qy) - 1) ** 2;
      return Math.min((qx - 1) ** 2 + qy ** 2, (qx + 1) ** 2 + qy ** 2);
    };
    let d2 = 0;
    let near = 0;
    for (const [x, y] of rows(m)) {
      const px = (x + 1) / 2;
      const py = (y + 0.2) / 2;
      const d = Math.min(arc(px, py, 0, 0, true), arc(px, py, 1, 0.5, false));
      d2 += d;
      if (d < 0.3 ** 2) near++;
    }
    // The distance to the curve is ≈ the normal noise component: E d² ≈ 0.1² (a bit less at crossings).
    expect(d2 / N).toBeGreaterThan(0.008);
    expect(d2 / N).toBeLessThan(0.0105);
    expect(near / N).toBeGreaterThan(0.99);
    const s = moments(m);
    expect(Math.abs(s.mean[0])).toBeLessThan(0.03); // E m = (1/2, 1/4) → (0, 0.3)
    expect(Math.abs(s.mean[1] - 0.3)).toBeLessThan(0.03);
  });

  it('swissroll: E‖x‖² = (E t² + 2)/25 with t = 1.5π(1 + 2u)', () => {
    const s = moments(sampleToy('swissroll', N, 6));
    const et2 = (1.5 * Math.PI) ** 2 * (13 / 3); // E(1 + 2u)² = 13/3
    expect(s.meanSqRadius).toBeCloseTo((et2 + 2) / 25, 1);
    expect(Math.abs(s.mean[0] - 0.4003)).toBeLessThan(0.03);
    expect(Math.abs(s.mean[1] - 0.0423)).toBeLessThan(0.03);
  });

  it('2spirals: the second half mirrors the first (p and −p) up to N(0, 0.1²) noise', () => {
    const m = sampleToy('2spirals', 2001, 7);
    expect(m.n).toBe(2000);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < 1000; i++) {
      for (let j = 0; j < 2; j++) {
        const v = m.data[2 * i + j] + m.data[2 * (1000 + i) + j];
        sum += v;
        sq += v * v;
      }
    }
    expect(Math.abs(sum / 2000)).toBeLessThan(0.015);
    expect(Math.sqrt(sq / 2000)).toBeCloseTo(0.1 * Math.SQRT2, 2);
    // Radius before noise ≤ (3π + 0.5√2)/3.
    const maxRadius = Math.max(...rows(m).map(([x, y]) => Math.hypot(x, y)));
    expect(maxRadius).toBeLessThan((3 * Math.PI + 0.71) / 3 + 0.5);
    expect(maxRadius).toBeGreaterThan(3);
  });

  it('pinwheel: 5 arms of ⌊n/5⌋ points, |x|² = 4‖f‖², angle −2πk/5 − 0.25 e^{f₀}', () => {
    const m = sampleToy('pinwheel', 5004, 8);
    expect(m.n).toBe(5000);
    const counts = new Array(5).fill(0);
    for (const [x, y] of rows(m)) {
      const f0 = Math.hypot(x, y) / 2; // ≈ f₀ (f₁ is small)
      const phase = Math.atan2(y, x) + 0.25 * Math.exp(f0); // ≈ −2πk/5
      const k = (((Math.round((-phase * 5) / (2 * Math.PI)) % 5) + 5) % 5) as number;
      counts[k]++;
    }
    // |x|/2 only approximates f₀, so a few points near arm crossings are misassigned.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(5);
    expect(moments(sampleToy('pinwheel', N, 9)).meanSqRadius).toBeCloseTo(4 * (1 + 0.09 + 0.01), 1);
  });
});

describe('entropy (Kozachenko–Leonenko, k = 1..5)', () => {
  it('recovers known entropies: N(0, I₂) and U[0, 2]³', () => {
    const rng = new Rng(3);
    const g = { data: rng.normalArray(2 * 20_000), n: 20_000, dim: 2 };
    expect(knnEntropy(g, 3)).toBeCloseTo(1 + Math.log(2 * Math.PI), 1);
    const u = { data: rng.uniformArray(3 * 20_000, 0, 2), n: 20_000, dim: 3 };
    expect(Math.abs(knnEntropy(u, 1) - Math.log(8))).toBeLessThan(0.06);
  });

  it('every generator is within 0.05 nats of its spec floor (n = 40,000)', () => {
    for (const name of toyNames()) {
      const profile = knnEntropyProfile(sampleToy(name, 40_000, 100), 5);
      for (const h of profile) expect(Math.abs(h - TOY_DATASETS[name].entropy), `${name}: ${profile.join(', ')}`).toBeLessThan(0.05);
    }
  });

  it('detects a wrong definition (noise 0.1 instead of 0.08 shifts rings by ≈ 0.2 nats)', () => {
    const m = sampleToy('rings', 40_000, 1);
    const widened = new Float32Array(m.data);
    const rng = new Rng(2);
    for (let i = 0; i < widened.length; i++) widened[i] += Math.sqrt(0.1 ** 2 - 0.08 ** 2) * rng.normal();
    const h = knnEntropy({ ...m, data: widened }, 3);
    expect(h - TOY_DATASETS.rings.entropy).toBeGreaterThan(0.12);
  });

  it('rejects duplicates and too few points', () => {
    expect(() => knnEntropy({ data: new Float32Array([0, 0, 0, 0, 1, 1]), n: 3, dim: 2 }, 1)).toThrow(/duplicate/);
    expect(() => knnEntropy({ data: new Float32Array([0, 0, 1, 1]), n: 2, dim: 2 }, 3)).toThrow(/at least 4 points/);
  });
});

describe('paired samples for bridges', () => {
  it('returns exactly n independent pairs, x0 ~ target and x1 ~ source', () => {
    const p = samplePaired('8gaussians', 'moons', 5001, 3);
    expect([p.n, p.x0.n, p.x1.n, p.dim, p.source, p.target]).toEqual([5001, 5001, 5001, 2, '8gaussians', 'moons']);
    expect(moments(p.x0).mean[1]).toBeCloseTo(0.3, 1); // moons
    expect(moments(p.x1).meanRadius).toBeCloseTo(NUMPY_REFERENCE['8gaussians'].meanRadius, 1);
    let c = 0;
    for (let i = 0; i < p.n; i++) c += p.x0.data[2 * i] * p.x1.data[2 * i];
    const corr = c / p.n / (moments(p.x0).std[0] * moments(p.x1).std[0]);
    expect(Math.abs(corr)).toBeLessThan(0.06); // 4 standard errors at n = 5000
  });

  it('works for the rounding generators, is seeded, and shuffles 2spirals', () => {
    const p = samplePaired('pinwheel', '2spirals', 7, 1);
    expect([p.x0.n, p.x1.n]).toEqual([7, 7]);
    expect(samplePaired('pinwheel', '2spirals', 7, 1).x0.data).toEqual(p.x0.data);
    expect(samplePaired('pinwheel', '2spirals', 7, 2).x0.data).not.toEqual(p.x0.data);
    // x0 is a random subset of the target generator's output from the first forked stream;
    // its first 100 rows come from both arms (rows [0, 502) and [502, 1004) of the raw draw).
    const s = samplePaired('moons', '2spirals', 1000, 4).x0;
    const raw = sampleToy('2spirals', 1004, new Rng(4).fork());
    const key = (x: number, y: number) => `${x},${y}`;
    const where = new Map(rows(raw).map(([x, y], i) => [key(x, y), i]));
    const origin = rows(s).map(([x, y]) => where.get(key(x, y)));
    expect(origin.every((i) => i !== undefined)).toBe(true);
    expect(new Set(origin).size).toBe(1000);
    const firstArm = origin.slice(0, 100).filter((i) => (i as number) < 502).length;
    expect(firstArm).toBeGreaterThan(25);
    expect(firstArm).toBeLessThan(75);
    for (const t of PAIRED_TASKS) expect(samplePaired(t.source, t.target, 10, 0).n).toBe(10);
    expect(() => samplePaired('moons', 'nope', 10, 0)).toThrow(/unknown toy dataset 'nope'/);
  });
});

describe('sampleToyLabelled', () => {
  it('returns the points of sampleToy with their natural labels', () => {
    for (const name of labelledToyNames()) {
      const plain = sampleToy(name, 203, 11);
      const l = sampleToyLabelled(name, 203, 11);
      expect(l.points).toEqual(plain);
      expect(l.labels.length).toBe(plain.n);
      expect(l.classes).toBe(TOY_DATASETS[name].classes);
      const counts = new Array(l.classes).fill(0);
      for (const k of l.labels) {
        expect(Number.isInteger(k) && k >= 0 && k < l.classes).toBe(true);
        counts[k] += 1;
      }
      expect(Math.min(...counts)).toBeGreaterThan(0);
    }
    expect(labelledToyNames().sort()).toEqual(['2spirals', '8gaussians', 'circles', 'moons', 'pinwheel', 'rings']);
  });

  it('labels 8gaussians by the mode, rings by the radius, circles and moons by the component', () => {
    const modes = [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
      [Math.SQRT1_2, Math.SQRT1_2],
      [Math.SQRT1_2, -Math.SQRT1_2],
      [-Math.SQRT1_2, Math.SQRT1_2],
      [-Math.SQRT1_2, -Math.SQRT1_2],
    ].map(([a, b]) => [(4 * a) / FFJORD_ROOT2, (4 * b) / FFJORD_ROOT2]);
    const g = sampleToyLabelled('8gaussians', 500, 3);
    for (let i = 0; i < 500; i++) {
      const [x, y] = [g.points.data[2 * i], g.points.data[2 * i + 1]];
      const d = modes.map(([a, b]) => (x - a) ** 2 + (y - b) ** 2);
      // Modes are 2.2 apart and their std 0.35: nearly every point is nearest its own mode.
      if (d.indexOf(Math.min(...d)) !== g.labels[i]) expect(Math.sqrt(d[g.labels[i]])).toBeGreaterThan(0.9);
    }
    const r = sampleToyLabelled('rings', 400, 4);
    for (let i = 0; i < 400; i++) {
      const radius = Math.hypot(r.points.data[2 * i], r.points.data[2 * i + 1]);
      expect(Math.abs(radius - 3 * (1 - 0.25 * r.labels[i]))).toBeLessThan(0.5);
    }
    const c = sampleToyLabelled('circles', 400, 5);
    for (let i = 0; i < 400; i++) {
      const radius = Math.hypot(c.points.data[2 * i], c.points.data[2 * i + 1]);
      expect(Math.abs(radius - (c.labels[i] === 0 ? 3 : 1.5))).toBeLessThan(0.75);
    }
  });

  it('refuses sets without a natural label', () => {
    expect(() => sampleToyLabelled('checkerboard', 10)).toThrow(/has no natural label; labelled sets: .*8gaussians/);
  });
});

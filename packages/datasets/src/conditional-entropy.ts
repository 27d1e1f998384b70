/**
 * Conditional entropy floors H(x | y) of the labelled toy sets (docs/maths/toy-data.md#conditional-entropy-floors).
 * For any conditional model q(x | y), E_{x,y}[−log q(x | y)] ≥ H(x | y) = Σ_k p(k) H(x | y = k),
 * so this is the floor of a conditional model's test NLL, as H(x) is of an unconditional one.
 *
 * - 8gaussians: every class is exactly N(c_k, s² I₂), s = 0.5/1.414, so H(x | y) = ln(2πe s²).
 * - rings, circles: class k is a circle of radius R_k with a uniform angle plus N(0, s² I₂)
 *   (rings: R = 3, 2.25, 1.5, 0.75, s = 0.08; circles: R = 3, 1.5, s = 0.24), whose density
 *   depends only on ρ = |x|:
 *
 *     p(ρ) = exp(−(ρ − R)²/(2s²)) · I₀ₑ(ρR/s²) / (2π s²),   I₀ₑ(a) = e^{−a} I₀(a),
 *
 *   and H = −∫₀^∞ p(ρ) ln p(ρ) 2πρ dρ, computed by composite Simpson quadrature on
 *   [max(0, R − 12s), R + 12s] (the mass outside is below 1e-30). The classes are equally likely
 *   (for n → ∞; the generators give the remainder of n/K to one class).
 * - moons, 2spirals, pinwheel: no floor here (their classes are not radial; k-NN only).
 */

/** I₀ₑ(a) = e^{−a} I₀(a) for a ≥ 0 (Abramowitz & Stegun 9.8.1–9.8.2, relative error < 2e-7). */
export function besselI0Scaled(a: number): number {
  if (a < 0 || !Number.isFinite(a)) throw new RangeError(`besselI0Scaled needs a finite a ≥ 0, got ${a}`);
  if (a <= 3.75) {
    const u = (a / 3.75) ** 2;
    const i0 = 1 + u * (3.5156229 + u * (3.0899424 + u * (1.2067492 + u * (0.2659732 + u * (0.0360768 + u * 0.0045813)))));
    return i0 * Math.exp(-a);
  }
  const v = 3.75 / a;
  const poly =
    0.39894228 +
    v *
      (0.01328592 +
        v *
          (0.00225319 + v * (-0.00157565 + v * (0.00916281 + v * (-0.02057706 + v * (0.02635537 + v * (-0.01647633 + v * 0.00392377)))))));
  return poly / Math.sqrt(a);
}

/** ln p(ρ) of a noisy circle of radius R and noise std s (module doc). */
function logRingDensity(rho: number, R: number, s: number): number {
  const s2 = s * s;
  return -((rho - R) ** 2) / (2 * s2) + Math.log(besselI0Scaled((rho * R) / s2)) - Math.log(2 * Math.PI * s2);
}

/** H of a uniform-angle circle of radius R with N(0, s² I₂) noise, in nats (module doc). */
export function noisyCircleEntropy(R: number, s: number, intervals = 6000): number {
  if (!(R > 0) || !(s > 0)) throw new RangeError(`noisyCircleEntropy needs R > 0 and s > 0, got R = ${R}, s = ${s}`);
  const lo = Math.max(0, R - 12 * s);
  const hi = R + 12 * s;
  const m = intervals % 2 === 0 ? intervals : intervals + 1;
  const h = (hi - lo) / m;
  let sum = 0;
  for (let i = 0; i <= m; i++) {
    const rho = lo + i * h;
    const lp = logRingDensity(rho, R, s);
    const f = rho === 0 ? 0 : -Math.exp(lp) * lp * 2 * Math.PI * rho;
    sum += (i === 0 || i === m ? 1 : i % 2 === 1 ? 4 : 2) * f;
  }
  return (sum * h) / 3;
}

/** H of N(μ, s² I_d) in nats: (d/2) ln(2πe s²). */
export function isotropicGaussianEntropy(s: number, d: number): number {
  return (d / 2) * Math.log(2 * Math.PI * Math.E * s * s);
}

/** FFJORD's 8gaussians mode std, 0.5/1.414 (the literal, as the generator). */
// biome-ignore lint/suspicious/noApproximativeNumericConstant: the reference uses 1.414, not Math.SQRT2
const EIGHT_GAUSSIANS_STD = 0.5 / 1.414;

const CACHE = new Map<string, number | undefined>();

/**
 * H(x | y) in nats of a labelled toy set with its natural label (module doc), or undefined
 * when no floor is known (moons, 2spirals, pinwheel, and sets without labels).
 */
export function toyConditionalEntropy(name: string): number | undefined {
  if (CACHE.has(name)) return CACHE.get(name);
  const mean = (hs: number[]) => hs.reduce((a, b) => a + b, 0) / hs.length;
  let h: number | undefined;
  if (name === '8gaussians') h = isotropicGaussianEntropy(EIGHT_GAUSSIANS_STD, 2);
  else if (name === 'rings') h = mean([3, 2.25, 1.5, 0.75].map((R) => noisyCircleEntropy(R, 0.08)));
  else if (name === 'circles') h = mean([3, 1.5].map((R) => noisyCircleEntropy(R, 0.24)));
  CACHE.set(name, h);
  return h;
}

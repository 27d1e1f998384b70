/** Float64 dense-matrix oracles for the solver checks (plain JS, no tfjs): y(t) = exp(tA) y₀. */

export type Mat = number[][];

export const matMul = (a: Mat, b: Mat): Mat => a.map((row) => b[0].map((_, j) => row.reduce((s, aik, k) => s + aik * b[k][j], 0)));
export const matVec = (a: Mat, v: number[]): number[] => a.map((row) => row.reduce((s, aij, j) => s + aij * v[j], 0));
export const scale = (a: Mat, s: number): Mat => a.map((row) => row.map((v) => v * s));
export const identity = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

/** Matrix exponential by scaling and squaring with a 20-term Taylor series (float64). */
export function expm(a: Mat): Mat {
  const norm = Math.max(...a.map((row) => row.reduce((s, v) => s + Math.abs(v), 0)));
  const k = Math.max(0, Math.ceil(Math.log2(norm + 1e-300)) + 4);
  const as = scale(a, 2 ** -k);
  let term = identity(a.length);
  let sum = identity(a.length);
  for (let i = 1; i <= 20; i++) {
    term = scale(matMul(term, as), 1 / i);
    sum = sum.map((row, r) => row.map((v, c) => v + term[r][c]));
  }
  for (let i = 0; i < k; i++) sum = matMul(sum, sum);
  return sum;
}

/**
 * Linear assignment (square linear sum assignment): given an $n \times n$ cost matrix $C$, find
 * the permutation $\pi$ minimising $\sum_i C_{i,\pi(i)}$.
 *
 * Algorithm: Jonker & Volgenant (1987), "A shortest augmenting path algorithm for dense and
 * sparse linear assignment problems" (LAPJV), in float64 typed arrays:
 * 1. column reduction $v_j = \min_i (C_{ij} - u^0_i)$ ($u^0$ = optional warm-start row
 *    potentials, default 0) with each row taking at most one of its minimal columns, then
 *    reduction transfer;
 * 2. two passes of augmenting row reduction (an auction-like pass that assigns many rows
 *    cheaply; capped at 4n row visits per pass);
 * 3. for every remaining free row, a Dijkstra shortest augmenting path over the reduced costs
 *    $C_{ij} - v_j$, followed by the column-price update and the augmentation.
 * Worst case $O(n^3)$; on Euclidean point-cloud costs far less (see the package README for
 * measured times).
 *
 * Optimality certificate: the result carries dual potentials $u, v$ with
 * $C_{ij} - u_i - v_j \ge 0$ for all $i, j$ (up to float64 rounding) and $= 0$ on the
 * assignment, so $\sum_i u_i + \sum_j v_j$ equals the cost and, by LP duality, no
 * permutation is cheaper. {@link assignmentGap} checks this in $O(n^2)$.
 */

/** A square cost matrix: `number[][]` or a row-major typed array of $n^2$ entries. */
export type CostMatrix = readonly (readonly number[])[] | Float64Array | Float32Array;

export interface AssignmentResult {
  /** `rowToCol[i]` = column assigned to row `i` (a permutation of 0..n−1). */
  rowToCol: Int32Array;
  /** `colToRow[j]` = row assigned to column `j` (the inverse permutation). */
  colToRow: Int32Array;
  /** $\sum_i C_{i,\pi(i)}$ (summed in float64). */
  cost: number;
  /** Row potentials $u_i = C_{i,\pi(i)} - v_{\pi(i)}$. */
  u: Float64Array;
  /** Column potentials $v_j$. */
  v: Float64Array;
}

/** Row-major float64 copy of a square cost matrix and its size; validates shape and finiteness. */
export function toCostMatrix(cost: CostMatrix): { c: Float64Array; n: number } {
  let c: Float64Array;
  let n: number;
  if (cost instanceof Float64Array || cost instanceof Float32Array) {
    n = Math.round(Math.sqrt(cost.length));
    if (n * n !== cost.length) throw new TypeError(`a flat cost matrix must have n² entries, got length ${cost.length}`);
    c = Float64Array.from(cost);
  } else if (Array.isArray(cost)) {
    n = cost.length;
    c = new Float64Array(n * n);
    cost.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== n)
        throw new TypeError(`the cost matrix must be square: row ${i} has ${row?.length} entries, expected ${n}`);
      for (let j = 0; j < n; j++) c[i * n + j] = row[j];
    });
  } else {
    throw new TypeError('the cost matrix must be number[][] or a row-major Float64Array/Float32Array');
  }
  if (n < 1) throw new RangeError('the cost matrix is empty');
  for (let k = 0; k < c.length; k++) {
    if (!Number.isFinite(c[k]))
      throw new RangeError(`the cost matrix has a non-finite entry (${c[k]}) at row ${Math.floor(k / n)}, column ${k % n}`);
  }
  return { c, n };
}

/**
 * Solve the square linear sum assignment problem $\min_\pi \sum_i C_{i,\pi(i)}$ (LAPJV; see the
 * module doc). Costs may be any finite numbers (negative too). `cost` is not modified.
 *
 * Throws `TypeError` for a non-square matrix and `RangeError` for an empty matrix or a
 * non-finite entry.
 */
export function linearSumAssignment(cost: CostMatrix): AssignmentResult {
  const { c, n } = toCostMatrix(cost);
  return lapjv(c, n);
}

export interface LapjvOptions {
  /**
   * Initial row potentials $u^0$ (a warm start; any finite values keep the result optimal, up
   * to float64 rounding at the scale of the offsets).
   * Column reduction becomes $v_j = \min_i (C_{ij} - u^0_i)$; the closer $u^0, v$ are to an
   * optimal dual, the shorter the augmenting-path searches. Default: all 0 (plain JV).
   */
  rowOffsets?: Float64Array;
}

/**
 * LAPJV on a row-major float64 n × n matrix `c` (not modified). Lower-level than
 * {@link linearSumAssignment}: no validation (entries must be finite, `c.length` = n²).
 */
export function lapjv(c: Float64Array, n: number, options: LapjvOptions = {}): AssignmentResult {
  const u0 = options.rowOffsets;
  const x = new Int32Array(n).fill(-1); // row → column
  const y = new Int32Array(n).fill(-1); // column → row
  const v = new Float64Array(n);
  if (n === 1) {
    v[0] = c[0];
    x[0] = 0;
    y[0] = 0;
    return finish(c, n, x, y, v);
  }

  // 1. Column reduction: v_j = min_i (c_ij − u0_i) (first minimal row), visiting columns n−1 … 0; a row
  // keeps the first column it wins and is marked non-unique if it wins more.
  const argmin = new Int32Array(n);
  v.fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const ci = c.subarray(i * n, i * n + n);
    const ui = u0 ? u0[i] : 0;
    for (let j = 0; j < n; j++) {
      const h = ci[j] - ui;
      if (h < v[j]) {
        v[j] = h;
        argmin[j] = i;
      }
    }
  }
  const nonUnique = new Uint8Array(n);
  for (let j = n - 1; j >= 0; j--) {
    const i = argmin[j];
    if (x[i] < 0) {
      x[i] = j;
      y[j] = i;
    } else nonUnique[i] = 1;
  }
  // Reduction transfer: a row that won exactly one column gives it its second-best reduced cost.
  const free = new Int32Array(n);
  let nFree = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] < 0) free[nFree++] = i;
    else if (!nonUnique[i]) {
      const j1 = x[i];
      const ci = c.subarray(i * n, i * n + n);
      let min = Number.POSITIVE_INFINITY;
      for (let j = 0; j < n; j++) {
        if (j === j1) continue;
        const h = ci[j] - v[j];
        if (h < min) min = h;
      }
      v[j1] = ci[j1] - min; // lowers v[j1] so that j1 ties with the row's second-best column
    }
  }

  // 2. Augmenting row reduction, two passes. A row takes its best column j1 and lowers v[j1] so
  // that j1 ties with its second-best; an evicted row is retried at once if the price moved.
  // Each pass is capped at 4n row visits (on geometric costs it degenerates into a price war
  // that costs more than it saves); rows still free go to phase 3.
  for (let pass = 0; pass < 2 && nFree > 0; pass++) {
    const f0 = nFree;
    let k = 0;
    nFree = 0;
    let steps = 0;
    const maxSteps = 4 * n;
    while (k < f0) {
      if (++steps > maxSteps) {
        free.copyWithin(nFree, k, f0);
        nFree += f0 - k;
        break;
      }
      const i = free[k++];
      const ci = c.subarray(i * n, i * n + n);
      let u1 = ci[0] - v[0];
      let j1 = 0;
      let u2 = Number.POSITIVE_INFINITY;
      let j2 = -1;
      for (let j = 1; j < n; j++) {
        const h = ci[j] - v[j];
        if (h < u2) {
          if (h >= u1) {
            u2 = h;
            j2 = j;
          } else {
            u2 = u1;
            u1 = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      let i1 = y[j1];
      let lowered = false;
      if (u1 < u2) {
        const nv = v[j1] - (u2 - u1);
        lowered = nv < v[j1]; // false if the difference is below v[j1]'s rounding unit
        v[j1] = nv;
      } else if (i1 >= 0) {
        j1 = j2;
        i1 = y[j1];
      }
      if (i1 >= 0) {
        x[i1] = -1;
        if (lowered) free[--k] = i1;
        else free[nFree++] = i1;
      }
      x[i] = j1;
      y[j1] = i;
    }
  }

  // 3. Shortest augmenting paths (Dijkstra on reduced costs) from each remaining free row.
  // col[0, low) = ready (distance final), col[low, up) = to scan (distance = min), col[up, n) = todo.
  const dist = new Float64Array(n);
  const pred = new Int32Array(n);
  const col = new Int32Array(n);
  for (let f = 0; f < nFree; f++) {
    const i1 = free[f];
    const c1 = c.subarray(i1 * n, i1 * n + n);
    for (let j = 0; j < n; j++) {
      dist[j] = c1[j] - v[j];
      pred[j] = i1;
      col[j] = j;
    }
    let low = 0;
    let up = 0;
    let last = 0;
    let min = 0;
    let end = -1;
    search: for (;;) {
      if (up === low) {
        // Collect the todo columns at the new minimum distance.
        last = low;
        min = dist[col[up++]];
        for (let k = up; k < n; k++) {
          const j = col[k];
          const h = dist[j];
          if (h <= min) {
            if (h < min) {
              up = low;
              min = h;
            }
            col[k] = col[up];
            col[up++] = j;
          }
        }
        for (let k = low; k < up; k++) {
          if (y[col[k]] < 0) {
            end = col[k];
            break search;
          }
        }
      }
      // Scan the row assigned to the next column at distance min.
      const j1 = col[low++];
      const i = y[j1];
      const ci = c.subarray(i * n, i * n + n);
      const u1 = ci[j1] - v[j1] - min;
      for (let k = up; k < n; k++) {
        const j = col[k];
        const h = ci[j] - v[j] - u1;
        if (h < dist[j]) {
          dist[j] = h;
          pred[j] = i;
          if (h === min) {
            if (y[j] < 0) {
              end = j;
              break search;
            }
            col[k] = col[up];
            col[up++] = j;
          }
        }
      }
    }
    // Price update of the ready columns, then flip the path back to i1.
    for (let k = 0; k < last; k++) {
      const j = col[k];
      v[j] += dist[j] - min;
    }
    let j = end;
    for (;;) {
      const i = pred[j];
      y[j] = i;
      const next = x[i];
      x[i] = j;
      if (i === i1) break;
      j = next;
    }
  }
  return finish(c, n, x, y, v);
}

function finish(c: Float64Array, n: number, x: Int32Array, y: Int32Array, v: Float64Array): AssignmentResult {
  const u = new Float64Array(n);
  let cost = 0;
  for (let i = 0; i < n; i++) {
    const j = x[i];
    if (j < 0 || y[j] !== i) throw new Error(`linear assignment failed: row ${i} is unassigned (internal error)`);
    const cij = c[i * n + j];
    cost += cij;
    u[i] = cij - v[j];
  }
  return { rowToCol: x, colToRow: y, cost, u, v };
}

/**
 * Largest violation of the optimality certificate of `result` for `cost`:
 * $\max\big(\max_{ij}(u_i + v_j - C_{ij}),\ \max_i \lvert C_{i\pi(i)} - u_i - v_{\pi(i)}\rvert\big)$,
 * plus a check that `rowToCol` is a permutation (returns `Infinity` if not). A value within
 * float64 rounding of the costs (e.g. ≤ 1e-9 · max|C|) proves the assignment optimal.
 */
export function assignmentGap(cost: CostMatrix, result: AssignmentResult): number {
  const { c, n } = toCostMatrix(cost);
  const { rowToCol: x, u, v } = result;
  if (x.length !== n || u.length !== n || v.length !== n) return Number.POSITIVE_INFINITY;
  const seen = new Uint8Array(n);
  let gap = 0;
  for (let i = 0; i < n; i++) {
    const j = x[i];
    if (!(j >= 0 && j < n) || seen[j]) return Number.POSITIVE_INFINITY;
    seen[j] = 1;
    gap = Math.max(gap, Math.abs(c[i * n + j] - u[i] - v[j]));
    for (let k = 0; k < n; k++) gap = Math.max(gap, u[i] + v[k] - c[i * n + k]);
  }
  return gap;
}

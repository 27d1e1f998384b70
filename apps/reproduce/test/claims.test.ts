/**
 * The image parts of the claims: image bits/dim count in claim (a), the image few-step Fréchet
 * distances in claim (b), and claim (e) compares NFBM with the fixed bridge — decided by the
 * pairwise rule on synthetic results, so a wrong sign or a missing pair shows.
 */
import { describe, expect, it } from 'vitest';
import { decideClaims } from '../src/claims.js';
import type { Stat } from '../src/common.js';
import type { DensityResult } from '../src/density.js';
import type { FewstepResult } from '../src/fewstep.js';
import type { ImageBridgeResult } from '../src/image-bridge.js';
import type { ImageResult } from '../src/images.js';

const stat = (mean: number, se = 0.01): Stat => ({ mean, se, n: 1, over: 'points' });

/** An image result whose NFDM/NDM NLL and NFDM-OT Fréchet distances are `learned`, the others `fixed`. */
function images(learned: number, fixed: number): ImageResult {
  const few = (v: number) => [1, 2, 4, 8].map((nfe) => ({ nfe, frechet: stat(v) }));
  const row = (model: string, nll: number, frechet: number) => ({
    model,
    nelbo: null,
    nll: stat(nll),
    frechet: stat(frechet),
    fewstep: few(frechet),
    trainSeconds: 1,
  });
  return {
    data: 'fashion-mnist',
    network: 'U-Net (base 16)',
    nfe: [1, 2, 4, 8],
    summary: [
      row('nfdm', learned, fixed),
      row('ndm', learned, fixed),
      row('vp', fixed, fixed),
      row('cfm', fixed, fixed),
      row('nfdm-ot', fixed, learned),
      row('ot-cfm', fixed, fixed),
      row('rectified-flow', fixed, fixed),
    ],
  } as unknown as ImageResult;
}

function bridge(nfbm: { accuracy: number; frechet: number }, fixed: { accuracy: number; frechet: number }): ImageBridgeResult {
  return {
    data: 'fashion-mnist',
    network: 'U-Net (base 16)',
    source: { label: 7, name: 'Sneaker', spec: 'fashion-mnist:label=7' },
    target: { label: 9, name: 'Ankle boot', spec: 'fashion-mnist:label=9' },
    noTransport: { accuracy: 0.01, frechet: 30 },
    summary: [
      { model: 'nfbm', accuracy: stat(nfbm.accuracy), frechet: stat(nfbm.frechet), trainSeconds: 1 },
      { model: 'fixed-bridge', accuracy: stat(fixed.accuracy), frechet: stat(fixed.frechet), trainSeconds: 1 },
    ],
  } as unknown as ImageBridgeResult;
}

const claim = (claims: ReturnType<typeof decideClaims>, id: string) => claims.find((c) => c.id === id);

describe('the image parts of the claims', () => {
  it('claim (a): NFDM and NDM against VP and CFM in image bits/dim (lower wins)', () => {
    const won = claim(decideClaims({ images: images(3, 4) }), 'a');
    expect(won?.counts).toEqual({ wins: 4, losses: 0, total: 4 });
    expect(won?.verdict).toBe('reproduced');
    expect(won?.sections).toBe('sections 1 and 4');
    expect(won?.evidence).toMatch(
      /images \(fashion-mnist, U-Net \(base 16\), bits\/dim\): NFDM 3 ± 0\.01, NDM 3 ± 0\.01 vs VP 4 ± 0\.01, CFM 4 ± 0\.01/,
    );
    expect(claim(decideClaims({ images: images(4, 3) }), 'a')?.verdict).toBe('not reproduced');
  });

  it('claim (b): NFDM-OT against CFM, OT-CFM, rectified flow and VP at NFE 2 and 4 in the Fréchet distance', () => {
    const b = claim(decideClaims({ images: images(3, 4) }), 'b');
    // Eight few-step comparisons (4 models × 2 NFE), all won; no curvature on images.
    expect(b?.counts).toEqual({ wins: 8, losses: 0, total: 8 });
    expect(b?.evidence).toContain('images (fashion-mnist) Fréchet distance at NFE 2: NFDM-OT 3 ± 0.01, CFM 4 ± 0.01');
    // Curvature has no comparison without the toy result, so the claim cannot be reproduced on images alone.
    expect(b?.verdict).toBe('inconclusive');
    expect(claim(decideClaims({ images: images(4, 3) }), 'b')?.verdict).toBe('not reproduced');
  });

  it('claim (e): NFBM wins with more images classified as the target and a lower Fréchet distance', () => {
    const better = claim(decideClaims({ 'image-bridge': bridge({ accuracy: 0.9, frechet: 5 }, { accuracy: 0.5, frechet: 9 }) }), 'e');
    expect(better?.counts).toEqual({ wins: 2, losses: 0, total: 2 });
    expect(better?.verdict).toBe('reproduced');
    expect(better?.sections).toBe('section 5');
    const worse = claim(decideClaims({ 'image-bridge': bridge({ accuracy: 0.5, frechet: 9 }, { accuracy: 0.9, frechet: 5 }) }), 'e');
    expect(worse?.verdict).toBe('not reproduced');
    const split = claim(decideClaims({ 'image-bridge': bridge({ accuracy: 0.9, frechet: 9 }, { accuracy: 0.5, frechet: 5 }) }), 'e');
    expect(split?.verdict).toBe('inconclusive');
    expect(claim(decideClaims({}), 'e')?.evidence).toMatch(/image bridge experiment has no result/);
  });
});

/** A one-data-set density result with the given exact NLL per model (s.e. 0.01). */
function density(nll: Record<string, number>): DensityResult {
  const models = Object.keys(nll);
  return {
    datasets: ['8gaussians'],
    models,
    summary: models.map((model) => ({ dataset: '8gaussians', model, nll: stat(nll[model]), nelbo: null, swd: null })),
  } as unknown as DensityResult;
}

/** A one-data-set few-step result: curvature and sliced W2 (every NFE) per model. */
function fewstep(values: Record<string, number>): FewstepResult {
  const models = Object.keys(values);
  const nfe = [1, 2, 4, 8];
  return {
    datasets: ['8gaussians'],
    models,
    nfe,
    summary: models.map((model) => ({
      dataset: '8gaussians',
      model,
      curvature: stat(values[model]),
      nfe: nfe.map((n) => ({ nfe: n, swd: stat(values[model]) })),
    })),
  } as unknown as FewstepResult;
}

describe('the velocity baselines in the toy parts of the claims', () => {
  it('claim (a) counts CFM as a fixed process: a CFM ahead of both learned models turns the verdict', () => {
    const base = { nfdm: 3, ndm: 3, vp: 4, fm: 4 };
    const without = claim(decideClaims({ density: density(base) }), 'a');
    // sub-VP is absent from this result: its pairs are missing, not ties.
    expect(without?.counts).toEqual({ wins: 4, losses: 0, total: 4 });
    expect(without?.verdict).toBe('reproduced');
    const withCfm = claim(decideClaims({ density: density({ ...base, vp: 2, fm: 2, cfm: 2 }) }), 'a');
    expect(withCfm?.counts).toEqual({ wins: 0, losses: 6, total: 6 });
    expect(withCfm?.verdict).toBe('not reproduced');
    expect(withCfm?.evidence).toContain('8gaussians: best learned NFDM 3 ± 0.01 vs best fixed VP 2 ± 0.01');
  });

  it('claim (b) compares NFDM-OT with CFM, OT-CFM and rectified flow on curvature and few-step sliced W2', () => {
    const r = fewstep({ 'nfdm-ot': 1, nfdm: 2, fm: 2, vp: 2, cfm: 0.5, 'ot-cfm': 0.5, 'rectified-flow': 0.5 });
    const b = claim(decideClaims({ fewstep: r }), 'b');
    // Six models: 6 curvature pairs and 6 × 2 few-step pairs (NFE 2 and 4); the three velocity baselines win each.
    expect(b?.counts).toEqual({ wins: 9, losses: 9, total: 18 });
    expect(b?.verdict).toBe('inconclusive');
    expect(b?.evidence).toContain('OT-CFM 0.5 ± 0.01');
    const ahead = claim(decideClaims({ fewstep: fewstep({ 'nfdm-ot': 0.1, nfdm: 2, cfm: 1, 'ot-cfm': 1, 'rectified-flow': 1 }) }), 'b');
    expect(ahead?.counts).toEqual({ wins: 12, losses: 0, total: 12 });
    expect(ahead?.verdict).toBe('reproduced');
  });
});

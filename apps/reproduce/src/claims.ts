/**
 * The paper claims and the explicit rule that decides each verdict from the results.
 *
 * Pairwise rule: model A beats B on a lower-is-better metric when B − A > 2·sqrt(se_A² + se_B²)
 * (standard errors over seeds, or over test points / sample draws with one seed); it loses when
 * A − B exceeds that; otherwise (or without a standard error) it is a tie. Over the T
 * comparisons of a claim with W wins and L losses: reproduced if W > L and W ≥ T/2; not
 * reproduced if L > W and L ≥ T/2; inconclusive otherwise.
 */
import type { BridgeResult } from './bridges.js';
import { ownChain } from './budgets.js';
import { compareLower, MODEL_LABELS, pm, type Stat } from './common.js';
import type { DensityResult } from './density.js';
import type { FewstepResult } from './fewstep.js';
import type { ImageBridgeResult } from './image-bridge.js';
import type { ImageResult } from './images.js';
import type { SuiteResults } from './report.js';

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

export interface Claim {
  id: 'a' | 'b' | 'c' | 'd' | 'e';
  claim: string;
  verdict: Verdict;
  /** The report sections the verdict comes from (e.g. `sections 1 and 4`). */
  sections: string;
  /** The numbers behind the verdict, one line. */
  evidence: string;
  /** Win/loss counts where the majority rule applies. */
  counts?: { wins: number; losses: number; total: number };
}

export const CLAIM_RULE =
  'A beats B on a lower-is-better metric when B − A > 2·sqrt(se_A² + se_B²) (s.e. over seeds; with one seed over test points or sample draws); ' +
  'it loses when A − B exceeds that; otherwise, or when a standard error is unknown, it is a tie. ' +
  'Over the T comparisons of a claim with W wins and L losses: **reproduced** if W > L and W ≥ T/2, **not reproduced** if L > W and L ≥ T/2, **inconclusive** otherwise.';

export function majority(wins: number, losses: number, total: number): Verdict {
  if (total === 0) return 'inconclusive';
  if (wins > losses && wins >= total / 2) return 'reproduced';
  if (losses > wins && losses >= total / 2) return 'not reproduced';
  return 'inconclusive';
}

function tally(pairs: Array<[Stat | null, Stat | null]>) {
  let wins = 0;
  let losses = 0;
  let total = 0;
  for (const [a, b] of pairs) {
    const c = compareLower(a, b);
    if (c === 'missing') continue;
    total++;
    if (c === 'better') wins++;
    if (c === 'worse') losses++;
  }
  return { wins, losses, total };
}

const counts = (c: { wins: number; losses: number; total: number }) => `W ${c.wins}, L ${c.losses}, T ${c.total}`;

const CLAIMS = {
  a: 'learned forward processes (NFDM, NDM) give better test likelihood than fixed ones (VP, sub-VP, FM-OT, CFM; images: VP, CFM)',
  b: 'NFDM-OT gives straighter generative paths and better few-step samples than NFDM, FM-OT, VP and the velocity baselines CFM, OT-CFM and rectified flow (images: CFM, OT-CFM, rectified flow and VP)',
  c: 'NFBM learns a transport between two distributions, and the obstacle penalty keeps its paths out of the disc',
  d: 'DiffFlow captures fine structure (checkerboard, 2spirals): lower sliced W2 and NLL than the other models',
  e: 'NFBM transports one image class to another better than a bridge on a fixed process (more images classified as the target class, lower Fréchet distance to it)',
} as const;

/** The report sections behind each claim. */
const SECTIONS: Record<Claim['id'], string> = {
  a: 'sections 1 and 4',
  b: 'sections 2 and 4',
  c: 'section 3',
  d: 'section 1',
  e: 'section 5',
};

function missing(id: Claim['id'], experiment: string): Claim {
  return {
    id,
    claim: CLAIMS[id],
    verdict: 'inconclusive',
    sections: SECTIONS[id],
    evidence: `the ${experiment} experiment has no result in this directory`,
  };
}

/** The learned forward processes of claim (a). */
const LEARNED = ['nfdm', 'ndm'];
/** The fixed processes of claim (a) on the toys: the data-predictor ones and CFM (a fixed Gaussian path, velocity-parametrised). */
const FIXED_TOYS = ['vp', 'subvp', 'fm', 'cfm'];
/** The fixed processes of claim (a) on images. */
const FIXED_IMAGES = ['vp', 'cfm'];

/** Image bits/dim (exact NLL) of NFDM and NDM against VP and CFM: the pairs, and the evidence (none without a result). */
function imageLikelihood(images: ImageResult | undefined): { pairs: Array<[Stat | null, Stat | null]>; part?: string } {
  if (!images) return { pairs: [] };
  const nll = (m: string) => images.summary.find((s) => s.model === m)?.nll ?? null;
  const pairs: Array<[Stat | null, Stat | null]> = [];
  for (const l of LEARNED) for (const f of FIXED_IMAGES) pairs.push([nll(l), nll(f)]);
  const list = (ms: string[]) => ms.map((m) => `${MODEL_LABELS[m]} ${pm(nll(m))}`).join(', ');
  const part = `images (${images.data}, ${images.network}, bits/dim): ${list(LEARNED)} vs ${list(FIXED_IMAGES)}`;
  return { pairs, part };
}

function claimA(r: DensityResult | undefined, images: ImageResult | undefined): Claim {
  if (!r && !images) return missing('a', 'density');
  const img = imageLikelihood(images);
  const toy = r ? toyLikelihood(r) : { pairs: [], parts: ['the density experiment has no result in this directory'] };
  const c = tally([...toy.pairs, ...img.pairs]);
  return {
    id: 'a',
    claim: CLAIMS.a,
    verdict: majority(c.wins, c.losses, c.total),
    sections: SECTIONS.a,
    evidence:
      `exact NLL, every learned × fixed pair per data set (toys: nats; images: bits/dim): ${counts(c)}; ${toy.parts.join('; ')}` +
      (img.part ? `; ${img.part}` : '; images: no result in this directory'),
    counts: c,
  };
}

/** The toy pairs of claim (a): every learned × fixed model per data set, with the best of each kind. */
function toyLikelihood(r: DensityResult): { pairs: Array<[Stat | null, Stat | null]>; parts: string[] } {
  const learned = LEARNED;
  const fixed = FIXED_TOYS;
  const get = (d: string, m: string) => r.summary.find((s) => s.dataset === d && s.model === m)?.nll ?? null;
  const pairs: Array<[Stat | null, Stat | null]> = [];
  const parts: string[] = [];
  for (const d of r.datasets) {
    for (const l of learned) for (const f of fixed) pairs.push([get(d, l), get(d, f)]);
    const best = (ms: string[]) =>
      ms
        .map((m) => ({ m, s: get(d, m) }))
        .filter((x) => x.s && Number.isFinite(x.s.mean))
        .sort((x, y) => (x.s as Stat).mean - (y.s as Stat).mean)[0];
    const bl = best(learned);
    const bf = best(fixed);
    if (bl && bf) parts.push(`${d}: best learned ${MODEL_LABELS[bl.m]} ${pm(bl.s)} vs best fixed ${MODEL_LABELS[bf.m]} ${pm(bf.s)}`);
  }
  return { pairs, parts };
}

type Pairs = Array<[Stat | null, Stat | null]>;

/** The models NFDM-OT is compared with on the toys in claim (b): the paper's baselines and the velocity-parametrised ones. */
const TOY_FEWSTEP_OTHERS = ['nfdm', 'fm', 'vp', 'cfm', 'ot-cfm', 'rectified-flow'];

/** The toy pairs of claim (b): NFDM-OT against each of TOY_FEWSTEP_OTHERS present in the result, on curvature and on sliced W2 at NFE 2 and 4. */
function toyFewstep(r: FewstepResult): { curv: Pairs; few: Pairs; parts: string[] } {
  const others = TOY_FEWSTEP_OTHERS.filter((m) => (r.models as readonly string[]).includes(m));
  const get = (d: string, m: string) => r.summary.find((s) => s.dataset === d && s.model === m);
  const curv: Pairs = [];
  const few: Pairs = [];
  const parts: string[] = [];
  for (const d of r.datasets) {
    const ot = get(d, 'nfdm-ot');
    for (const o of others) {
      curv.push([ot?.curvature ?? null, get(d, o)?.curvature ?? null]);
      for (const n of FEW_NFE) {
        const i = r.nfe.indexOf(n);
        if (i >= 0) few.push([ot?.nfe[i]?.swd ?? null, get(d, o)?.nfe[i]?.swd ?? null]);
      }
    }
    const i2 = r.nfe.indexOf(2);
    parts.push(
      `${d}: curvature ${['nfdm-ot', ...others].map((m) => `${MODEL_LABELS[m]} ${pm(get(d, m)?.curvature ?? null)}`).join(', ')}` +
        (i2 >= 0
          ? `; sliced W2 at NFE 2 ${['nfdm-ot', ...others].map((m) => `${MODEL_LABELS[m]} ${pm(get(d, m)?.nfe[i2]?.swd ?? null)}`).join(', ')}`
          : ''),
    );
  }
  return { curv, few, parts };
}

/** The NFE of claim (b)'s few-step comparisons. */
const FEW_NFE = [2, 4];

/** The image pairs of claim (b): NFDM-OT against CFM, OT-CFM, rectified flow and VP on the Fréchet distance at NFE 2 and 4. */
function imageFewstep(images: ImageResult | undefined): { pairs: Pairs; part?: string } {
  if (!images) return { pairs: [] };
  const others = ['cfm', 'ot-cfm', 'rectified-flow', 'vp'];
  const at = (m: string, n: number) => {
    const i = images.nfe.indexOf(n);
    return i >= 0 ? (images.summary.find((s) => s.model === m)?.fewstep[i]?.frechet ?? null) : null;
  };
  const pairs: Pairs = [];
  for (const o of others) for (const n of FEW_NFE) pairs.push([at('nfdm-ot', n), at(o, n)]);
  const part = FEW_NFE.map(
    (n) =>
      `images (${images.data}) Fréchet distance at NFE ${n}: ${['nfdm-ot', ...others].map((m) => `${MODEL_LABELS[m]} ${pm(at(m, n))}`).join(', ')}`,
  ).join('; ');
  return { pairs, part };
}

function claimB(r: FewstepResult | undefined, images: ImageResult | undefined): Claim {
  if (!r && !images) return missing('b', 'few-step');
  const toy = r ? toyFewstep(r) : { curv: [], few: [], parts: ['the few-step experiment has no result in this directory'] };
  const img = imageFewstep(images);
  const c1 = tally(toy.curv);
  const c2 = tally([...toy.few, ...img.pairs]);
  const v1 = majority(c1.wins, c1.losses, c1.total);
  const v2 = majority(c2.wins, c2.losses, c2.total);
  const verdict: Verdict =
    v1 === 'reproduced' && v2 === 'reproduced'
      ? 'reproduced'
      : v1 === 'not reproduced' || v2 === 'not reproduced'
        ? 'not reproduced'
        : 'inconclusive';
  return {
    id: 'b',
    claim: CLAIMS.b,
    verdict,
    sections: SECTIONS.b,
    evidence:
      `straighter paths (curvature on the toys, NFDM-OT vs each): ${v1} (${counts(c1)}); few-step samples at NFE ${FEW_NFE.join(' and ')} ` +
      `(toys: sliced W2 vs NFDM, FM-OT, VP, CFM, OT-CFM, rectified flow; images: the classifier's Fréchet distance vs CFM, OT-CFM, rectified flow, VP): ${v2} (${counts(c2)}); both must hold. ` +
      `${toy.parts.join('. ')}${img.part ? `. ${img.part}` : '. Images: no result in this directory'}`,
    counts: { wins: c1.wins + c2.wins, losses: c1.losses + c2.losses, total: c1.total + c2.total },
  };
}

/** Transport counts as learned when the endpoints close ≥ 75% of the sliced-W gap between the source and the target noise floor. */
export const TRANSPORT_CLOSURE = 0.75;
/** The bridge without the penalty must put ≥ 0.5% of its path points inside the disc for the obstacle test to mean anything. */
export const MIN_CROSSING = 0.005;

function claimC(r: BridgeResult | undefined): Claim {
  if (!r) return missing('c', 'bridges');
  const ref = r.reference.swd;
  const gap = ref.sourceToTarget - ref.targetToTarget;
  const get = (v: string) => r.summary.find((s) => s.variant === v);
  const free = get('no-penalty');
  const obst = get('obstacle');
  const closure = (s: Stat | null | undefined) => (s && gap > 0 ? (ref.sourceToTarget - s.mean) / gap : Number.NaN);
  const cFree = closure(free?.metrics.swd);
  const cObst = closure(obst?.metrics.swd);
  const transport = cFree >= TRANSPORT_CLOSURE && cObst >= TRANSPORT_CLOSURE;
  const inFree = free?.inside ?? null;
  const inObst = obst?.inside ?? null;
  const cmp = compareLower(inObst, inFree);
  let verdict: Verdict;
  let why: string;
  if (!Number.isFinite(cFree) || !Number.isFinite(cObst) || !inFree || !inObst) {
    verdict = 'inconclusive';
    why = 'a metric is missing';
  } else if (!transport) {
    verdict = 'not reproduced';
    why = `transport not learned (a bridge closes < ${100 * TRANSPORT_CLOSURE}% of the gap)`;
  } else if (inFree.mean < MIN_CROSSING) {
    verdict = 'inconclusive';
    why = `the bridge without the penalty hardly enters the disc (< ${100 * MIN_CROSSING}% of path points), so the obstacle is not in its way`;
  } else if (cmp === 'better' && inObst.mean <= 0.5 * inFree.mean) {
    verdict = 'reproduced';
    why = 'the penalty at least halves the fraction inside, by more than 2 combined s.e.';
  } else if (cmp === 'tie') {
    verdict = 'inconclusive';
    why = 'the fractions inside differ by less than 2 combined s.e.';
  } else {
    verdict = 'not reproduced';
    why = 'the penalty does not halve the fraction of path points inside the disc';
  }
  const pct = (s: Stat | null) => (s ? `${(100 * s.mean).toFixed(2)}% ± ${(100 * (Number.isFinite(s.se) ? s.se : 0)).toFixed(2)}%` : '–');
  return {
    id: 'c',
    claim: CLAIMS.c,
    verdict,
    sections: SECTIONS.c,
    evidence:
      `rule: transport learned if both bridges close ≥ ${100 * TRANSPORT_CLOSURE}% of the sliced-W gap from "no transport" (${ref.sourceToTarget.toFixed(3)}) to the target noise floor (${ref.targetToTarget.toFixed(3)}); ` +
      `obstacle respected if the fraction of path points inside drops by > 2 combined s.e. and at least by half. ` +
      `Closure: no penalty ${Number.isFinite(cFree) ? `${(100 * cFree).toFixed(0)}%` : '–'} (sliced W2 ${pm(free?.metrics.swd)}), with obstacle ${Number.isFinite(cObst) ? `${(100 * cObst).toFixed(0)}%` : '–'} (${pm(obst?.metrics.swd)}); ` +
      `points inside: no penalty ${pct(inFree)}, with obstacle ${pct(inObst)} — ${why}`,
  };
}

/** Claim (d) is about DiffFlow: the density models that sample with their own chain. */
function claimD(r: DensityResult | undefined): Claim {
  if (!r) return missing('d', 'density');
  const sets = r.datasets.filter((d) => d === 'checkerboard' || d === '2spirals');
  const chains = r.models.filter(ownChain);
  if (chains.length === 0 || sets.length === 0)
    return {
      id: 'd',
      claim: CLAIMS.d,
      verdict: 'inconclusive',
      sections: SECTIONS.d,
      evidence: 'DiffFlow or checkerboard/2spirals were not part of the density run',
    };
  const others = r.models.filter((m) => !ownChain(m));
  const get = (d: string, m: string) => r.summary.find((s) => s.dataset === d && s.model === m);
  const pairs: Array<[Stat | null, Stat | null]> = [];
  const parts: string[] = [];
  for (const d of sets) {
    for (const chain of chains) {
      for (const o of others) {
        pairs.push([get(d, chain)?.swd ?? null, get(d, o)?.swd ?? null]);
        pairs.push([get(d, chain)?.nll ?? null, get(d, o)?.nll ?? null]);
      }
      const rank = (key: 'swd' | 'nll') => {
        const sorted = r.models
          .map((m) => ({ m, v: get(d, m)?.[key]?.mean ?? Number.NaN }))
          .filter((x) => Number.isFinite(x.v))
          .sort((x, y) => x.v - y.v);
        const k = sorted.findIndex((x) => x.m === chain);
        return k >= 0 ? `${k + 1}/${sorted.length}` : '–';
      };
      parts.push(
        `${d}: ${MODEL_LABELS[chain]} sliced W2 ${pm(get(d, chain)?.swd ?? null)} (rank ${rank('swd')}), NLL ${pm(get(d, chain)?.nll ?? null)} (rank ${rank('nll')})`,
      );
    }
  }
  const c = tally(pairs);
  return {
    id: 'd',
    claim: CLAIMS.d,
    verdict: majority(c.wins, c.losses, c.total),
    sections: SECTIONS.d,
    evidence: `${chains.map((m) => MODEL_LABELS[m]).join(', ')} vs each other model on sliced W2 and exact NLL: ${counts(c)}; ${parts.join('; ')}`,
    counts: c,
  };
}

/** 1 − accuracy (lower is better), with the accuracy's standard error. */
function errorRate(s: Stat | null | undefined): Stat | null {
  return s ? { ...s, mean: 1 - s.mean } : null;
}

/** Claim (e): NFBM against the fixed bridge on the error rate (1 − fraction classified as the target) and the Fréchet distance, per the pairwise rule. */
function claimE(r: ImageBridgeResult | undefined): Claim {
  if (!r) return missing('e', 'image bridge');
  const get = (m: string) => r.summary.find((s) => s.model === m);
  const nfbm = get('nfbm');
  const fixed = get('fixed-bridge');
  const c = tally([
    [errorRate(nfbm?.accuracy), errorRate(fixed?.accuracy)],
    [nfbm?.frechet ?? null, fixed?.frechet ?? null],
  ]);
  return {
    id: 'e',
    claim: CLAIMS.e,
    verdict: majority(c.wins, c.losses, c.total),
    sections: SECTIONS.e,
    evidence:
      `${r.source.name} → ${r.target.name} (${r.data}, ${r.network}), NFBM vs fixed bridge on the error rate (1 − classified as ${r.target.name}) and the Fréchet distance to ${r.target.name}: ${counts(c)}; ` +
      `classified as ${r.target.name}: NFBM ${pm(nfbm?.accuracy)}, fixed bridge ${pm(fixed?.accuracy)} (no transport ${r.noTransport.accuracy.toFixed(3)}); ` +
      `Fréchet distance: NFBM ${pm(nfbm?.frechet)}, fixed bridge ${pm(fixed?.frechet)} (no transport ${r.noTransport.frechet.toPrecision(4)})`,
    counts: c,
  };
}

export function decideClaims(results: SuiteResults): Claim[] {
  return [
    claimA(results.density, results.images),
    claimB(results.fewstep, results.images),
    claimC(results.bridges),
    claimD(results.density),
    claimE(results['image-bridge']),
  ];
}

#!/usr/bin/env node
/**
 * The markdown table of docs/maths/flow-matching.md#measured-few-step-sampling-and-exact-nll-on-8gaussians
 * from the output folders of cfm-fewstep.sh (one per seed): mean ± standard error over the
 * folders of the exact NLL, the curvature and the sliced W2 at each NFE, and the mean training
 * time. Usage: node packages/models/bench/cfm-fewstep-table.mjs OUT_SEED0 OUT_SEED1 …
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: cfm-fewstep-table.mjs OUTDIR…');
const MODELS = [
  ['fm', 'FM-OT (`fm`, data predictor)'],
  ['cfm', 'CFM (`cfm`)'],
  ['ot-cfm', 'OT-CFM (`ot-cfm`)'],
  ['rectified-flow', '1-RF (`rectified-flow`)'],
  ['reflow', '2-RF (`rectified-flow --reflow-from`)'],
];
const read = (dir, file) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

/** "mean ± s.e." over the values (just the value for one). */
function cell(values, digits = 3) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return mean.toFixed(digits);
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return `${mean.toFixed(digits)} ± ${(sd / Math.sqrt(n)).toFixed(digits)}`;
}

const nfes = read(dirs[0], 'cfm.eval.json').nfeSweep.map((r) => r.nfe);
const lines = [
  `| model | NLL | curvature | ${nfes.map((k) => `NFE ${k}`).join(' | ')} | train s |`,
  `| --- | --- | --- | ${nfes.map(() => '---').join(' | ')} | --- |`,
];
for (const [key, label] of MODELS) {
  const evals = dirs.map((d) => read(d, `${key}.eval.json`));
  const trains = dirs.map((d) => read(d, `${key}.train.json`));
  const swd = nfes.map((_, k) => cell(evals.map((e) => e.nfeSweep[k].swd)));
  const seconds = trains.reduce((a, t) => a + t.seconds, 0) / trains.length;
  lines.push(
    `| ${label} | ${cell(evals.map((e) => e.metrics.nll.mean))} | ${cell(evals.map((e) => e.metrics.curvature))} | ${swd.join(' | ')} | ${seconds.toFixed(0)} |`,
  );
}
console.log(lines.join('\n'));

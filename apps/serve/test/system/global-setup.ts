/**
 * Models for the browser tests, written once: the serve fixtures (test/fixtures.ts: `toy` NFDM,
 * `bridge`, `img` 4×4 images, …) and, trained for a few updates and exported by the `nfdm`
 * command as a user would, `ot` (NFDM-OT on 8 Gaussians) and `obstacle` (an NFBM bridge
 * 8 Gaussians → moons around a disc obstacle), and `labels`, a label-conditional NFDM. Fails in one line when Debian's chromium is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx, writeOnnxExport } from '@nfdm/export';
import { createModel, type ModelConfig } from '@nfdm/models';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { TOY, writeFixtureModels } from '../fixtures.js';

/** A label-conditional NFDM (3 classes, classifier-free guidance): the page's condition and guidance fields. */
const LABELS = {
  ...TOY,
  forward: { kind: 'nfdm', hidden: [16], activation: 'selu', conditioned: true },
  condition: { kind: 'label', classes: 3, dropout: 0.1, embedding: 4 },
  seed: 21,
} as ModelConfig;

export const CHROMIUM = '/usr/bin/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    browserModelsDir: string;
  }
}

const CLI = join(import.meta.dirname, '..', '..', '..', 'cli', 'dist', 'bin.js');

function nfdm(args: string[]): void {
  execFileSync(process.execPath, [CLI, ...args], { stdio: 'pipe', encoding: 'utf8' });
}

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM))
    throw new Error(`the browser tests need Debian's chromium package (apt-get install chromium): ${CHROMIUM} is missing`);
  if (!existsSync(CLI)) throw new Error(`the browser tests train their models with the nfdm command: build it first (${CLI} is missing)`);
  const root = mkdtempSync(join(tmpdir(), 'nfdm-browser-test-'));
  const models = join(root, 'models');
  await writeFixtureModels(models);
  const labels = createModel(LABELS);
  writeOnnxExport(exportOnnx(labels, { components: false, samplers: [] }), join(models, 'labels'));
  labels.dispose?.();
  const small = ['--steps', '30', '--hidden', '16,16', '--batch', '128', '--eval-every', '0', '--checkpoint-every', '0'];
  nfdm(['train', '--model', 'nfdm-ot', '--data', '8gaussians', ...small, '--out', join(root, 'run-ot')]);
  nfdm(['export', '--model', join(root, 'run-ot'), '--out', join(models, 'ot')]);
  nfdm([
    'train',
    '--model',
    'nfbm',
    '--source',
    '8gaussians',
    '--target',
    'moons',
    '--obstacle',
    '0,0,0.5',
    ...small,
    '--out',
    join(root, 'run-br'),
  ]);
  nfdm(['export', '--model', join(root, 'run-br'), '--out', join(models, 'obstacle')]);
  project.provide('browserModelsDir', models);
  return () => rmSync(root, { recursive: true, force: true });
}

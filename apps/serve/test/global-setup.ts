/** Export the fixture models once for every test file (vitest `provide`/`inject`). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { writeFixtureModels } from './fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    modelsDir: string;
  }
}

export default async function setup(project: TestProject) {
  const root = mkdtempSync(join(tmpdir(), 'nfdm-serve-test-'));
  const modelsDir = join(root, 'models');
  await writeFixtureModels(modelsDir);
  project.provide('modelsDir', modelsDir);
  return () => rmSync(root, { recursive: true, force: true });
}

/** Checks of docs/… citations: see doc-citations.ts for what is scanned and why. */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, brokenCitations, citationsIn, githubSlug, scannedFiles } from './doc-citations.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('document citations', () => {
  it('computes GitHub anchors of headings', () => {
    expect(githubSlug('Runge-Kutta tableaux')).toBe('runge-kutta-tableaux');
    expect(githubSlug('Two-sided forward process')).toBe('two-sided-forward-process');
    expect(githubSlug('The `nfdm` command')).toBe('the-nfdm-command');
    expect([...anchorsOf('# A b\n```\n# not a heading\n```\n## C, d\n')]).toEqual(['a-b', 'c-d']);
  });

  it('finds root-relative and relative citations and their anchors', () => {
    const file = join(ROOT, 'packages/x/src/a.ts');
    const cs = citationsIn(ROOT, file, ' * see docs/maths/ndm.md#discrete-time and docs/architecture.md.\n');
    expect(cs.map((c) => [relative(ROOT, c.target), c.anchor])).toEqual([
      ['docs/maths/ndm.md', 'discrete-time'],
      ['docs/architecture.md', undefined],
    ]);
    const md = join(ROOT, 'docs/maths/x.md');
    const links = citationsIn(ROOT, md, 'see [b](bridges.md#loss) and [s](#here) and [w](https://e.org/a.md)\n');
    expect(links.map((c) => [relative(ROOT, c.target), c.anchor])).toEqual([
      ['docs/maths/bridges.md', 'loss'],
      ['docs/maths/x.md', 'here'],
    ]);
  });

  it('every cited document and section exists, and no out-of-repo document is cited', () => {
    const scanned = scannedFiles(ROOT).map((f) => relative(ROOT, f));
    expect(scanned).toContain('packages/models/src/objective.ts');
    expect(scanned).toContain('docs/maths/objectives.md');
    expect(brokenCitations(ROOT)).toEqual([]);
  });
});

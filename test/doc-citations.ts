/**
 * Every document a source comment or README cites must exist in the repository, with the
 * section it names.
 *
 * - `docs/….md` and `docs/….md#section` anywhere in source, tests, benches and Markdown: the
 *   file exists (relative to the repository root) and, with `#section`, has a heading whose
 *   GitHub anchor is `section`.
 * - Relative Markdown links `[text](path.md#section)` in Markdown files: the same, relative to
 *   the linking file.
 * - The design documents that live outside the repository (`nfdm-math`,
 *   `baselines-solvers-eval`, `ecosystem-notes`, `images-and-paper-details`, `shared/spec`,
 *   "the architecture notes", "spec §…") are never cited.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.turbo', 'fixtures', 'build', 'coverage']);
const SCANNED_EXT = /\.(ts|mts|cts|mjs|js|cc|h|md)$/;

/** This checker and its test. */
const SELF = new Set(['test/doc-citations.ts', 'test/doc-citations.test.ts']);

const OLD_DOCUMENTS =
  /nfdm-math|baselines-solvers-eval|ecosystem-notes|images-and-paper-details|shared\/spec|architecture notes|spec §|solver spec/;

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (SCANNED_EXT.test(name)) out.push(path);
  }
  return out;
}

/** The files whose citations are checked: packages, apps, examples, docs, root Markdown. */
export function scannedFiles(root: string): string[] {
  const files: string[] = [];
  for (const top of ['packages', 'apps', 'examples', 'docs', 'test']) {
    if (existsSync(join(root, top))) walk(join(root, top), files);
  }
  for (const name of readdirSync(root)) if (name.endsWith('.md')) files.push(join(root, name));
  return files;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (`#`…`######`, outside code fences). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) anchors.add(githubSlug(m[1]));
  }
  return anchors;
}

export interface Citation {
  /** The citing file, relative to the root. */
  from: string;
  line: number;
  /** The cited file, absolute. */
  target: string;
  anchor?: string;
  text: string;
}

/** `docs/….md[#a]` citations (root-relative) and, in Markdown, relative `](….md[#a])` links. */
export function citationsIn(root: string, file: string, text: string): Citation[] {
  const from = relative(root, file);
  const found: Citation[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w./-])docs\/[\w./-]*?\.md(?:#([\w-]+))?/g)) {
      found.push({ from, line: i + 1, target: join(root, m[0].split('#')[0]), anchor: m[1], text: m[0] });
    }
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(/\]\(((?!https?:)[^)#\s]*\.md)(?:#([\w-]+))?\)/g)) {
        if (m[1].startsWith('docs/') && !from.includes('/')) continue; // root README: counted above
        found.push({ from, line: i + 1, target: resolve(dirname(file), m[1]), anchor: m[2], text: m[0] });
      }
      for (const m of line.matchAll(/\]\(#([\w-]+)\)/g)) {
        found.push({ from, line: i + 1, target: file, anchor: m[1], text: m[0] });
      }
    }
  });
  return found;
}

/** One line per broken citation: a missing file, a missing section or an out-of-repo document. */
export function brokenCitations(root: string): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  for (const file of scannedFiles(root)) {
    const rel = relative(root, file);
    if (SELF.has(rel)) continue; // name the old documents and missing files on purpose
    const text = readFileSync(file, 'utf8');
    text.split('\n').forEach((line, i) => {
      const old = OLD_DOCUMENTS.exec(line);
      if (old) problems.push(`${rel}:${i + 1}: cites "${old[0]}", a document outside the repository`);
    });
    for (const c of citationsIn(root, file, text)) {
      if (!existsSync(c.target) || !statSync(c.target).isFile()) {
        problems.push(`${c.from}:${c.line}: ${c.text}: no file ${relative(root, c.target)}`);
        continue;
      }
      if (c.anchor === undefined) continue;
      let anchors = anchorCache.get(c.target);
      if (!anchors) {
        anchors = anchorsOf(readFileSync(c.target, 'utf8'));
        anchorCache.set(c.target, anchors);
      }
      if (!anchors.has(c.anchor)) problems.push(`${c.from}:${c.line}: ${c.text}: no section #${c.anchor} in ${relative(root, c.target)}`);
    }
  }
  return problems;
}

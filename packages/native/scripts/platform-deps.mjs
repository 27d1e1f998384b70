#!/usr/bin/env node
/**
 * Add (`add`, run as prepack) or remove (`remove`, run as postpack) @nfdm/native's
 * optionalDependencies on its platform packages (lib/platforms.cjs), pinned to its own version.
 * The published package.json lists them, so npm installs the platform package that fits; the
 * repository's does not, because `npm ci` cannot lock optional packages that are not (yet) in
 * the registry. The same step napi-rs's `napi prepublish` takes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './compile.mjs';

const { PLATFORMS } = createRequire(import.meta.url)('../lib/platforms.cjs');
const file = join(packageRoot, 'package.json');
const pkg = JSON.parse(readFileSync(file, 'utf8'));
const mode = process.argv[2];
if (mode === 'add') {
  pkg.optionalDependencies = Object.fromEntries(Object.values(PLATFORMS).map((p) => [p.package, pkg.version]));
} else if (mode === 'remove') {
  delete pkg.optionalDependencies;
} else {
  console.error('usage: node scripts/platform-deps.mjs add|remove');
  process.exit(2);
}
writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);

#!/usr/bin/env node
// Add lockfile entries for platform-specific optional dependencies that this machine's
// registry mirror does not serve, so `npm ci` accepts the lock (they are skipped at install).
import { readFileSync, writeFileSync } from 'node:fs';

const path = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pk = lock.packages;
let added = 0;
for (const [key, entry] of Object.entries(pk)) {
  for (const [dep, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key}/node_modules/${dep}`;
    const top = `node_modules/${dep}`;
    if (pk[nested] || pk[top]) continue;
    pk[top] = { version: spec.replace(/^[\^~=]/, ''), ...(entry.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} entries`);

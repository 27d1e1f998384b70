/**
 * `@nfdm/export/runtime` (deprecated) and the package's main entry re-export `@nfdm/runtime`:
 * the very same bindings, so existing imports keep working and `instanceof` checks agree.
 */
import * as runtime from '@nfdm/runtime';
import { describe, expect, it } from 'vitest';
import * as main from '../src/index.js';

describe('@nfdm/export re-exports @nfdm/runtime', () => {
  it('the deprecated @nfdm/export/runtime entry exports exactly @nfdm/runtime', async () => {
    const alias = new Map(Object.entries(await import('@nfdm/export/runtime')));
    const original = new Map(Object.entries(runtime));
    expect([...alias.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [key, value] of original) expect(alias.get(key), key).toBe(value);
    expect(Object.keys(runtime)).toEqual(expect.arrayContaining(['loadOnnxModel', 'loadExportedModel', 'OnnxRuntimeError', 'Rng']));
  });

  it('the main entry re-exports the runtime classes themselves', () => {
    expect(main.loadOnnxModel).toBe(runtime.loadOnnxModel);
    expect(main.loadExportedModel).toBe(runtime.loadExportedModel);
    expect(main.OnnxRuntimeError).toBe(runtime.OnnxRuntimeError);
    expect(main.readOnnxMetadata).toBe(runtime.readOnnxMetadata);
  });
});

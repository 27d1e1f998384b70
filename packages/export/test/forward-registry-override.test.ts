/**
 * An emitter registered for a built-in kind before the first export is kept: the built-in
 * emitters are registered lazily, only for kinds that have none (own file, so this module
 * state is fresh).
 */
import { FixedGaussianProcess } from '@nfdm/models';
import { describe, expect, it } from 'vitest';
import type { ForwardProcessEmitter } from '../src/emit/forward/emitter.js';
import { fixedForwardEmitter } from '../src/emit/forward/fixed.js';
import { neuralForwardEmitter } from '../src/emit/forward/neural.js';
import { forwardProcessEmitter, registerForwardProcessEmitter } from '../src/emit/forward/registry.js';

describe('built-in emitters', () => {
  it('do not replace an emitter registered for a built-in kind before the first lookup', () => {
    const custom: ForwardProcessEmitter<FixedGaussianProcess> = { emit: fixedForwardEmitter.emit, sigmaWidth: () => 1 };
    registerForwardProcessEmitter('fixed', custom);
    const process = new FixedGaussianProcess(2, { name: 'vp' });
    expect(forwardProcessEmitter(process)).toBe(custom);
    expect(forwardProcessEmitter({ ...process, kind: 'nfdm' } as never)).toBe(neuralForwardEmitter);
  });
});

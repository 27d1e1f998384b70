/**
 * @nfdm/runtime and @nfdm/core draw from the same seeded generator (@nfdm/numerics): the two
 * must give the same stream draw for draw, or exported models would stop reproducing
 * DiffusionModel.sample for a given seed.
 */
import { SeededRng } from '@nfdm/core/random';
import { Rng } from '@nfdm/runtime';
import { describe, expect, it } from 'vitest';

describe("@nfdm/runtime's Rng equals @nfdm/core/random's SeededRng", () => {
  for (const seed of [0, 1, 7, 12345, 2 ** 32 + 5, -3, 2 ** 52 - 1]) {
    it(`seed ${seed}: state, uint32, uniforms, ints, normals and forks`, () => {
      const a = new Rng(seed);
      const b = new SeededRng(seed);
      expect(a.state()).toEqual(b.state());
      for (let i = 0; i < 50; i++) expect(a.nextUint32()).toBe(b.nextUint32());
      expect(a.uniformArray(100, -2, 3)).toEqual(b.uniformArray(100, -2, 3));
      expect(a.normalArray(101, 0.5, 2)).toEqual(b.normalArray(101, 0.5, 2));
      for (let i = 0; i < 20; i++) expect(a.int(17)).toBe(b.int(17));
      expect(a.fork().normalArray(10)).toEqual(b.fork().normalArray(10));
      expect(a.state()).toEqual(b.state());
    });
  }

  it('restores from a state and refuses bad ones alike', () => {
    const state = new SeededRng(3).state();
    expect(Rng.fromState(state).normalArray(5)).toEqual(SeededRng.fromState(state).normalArray(5));
    expect(() => Rng.fromState([1, 2, 3])).toThrow('Rng state must be four uint32 integers');
    expect(() => SeededRng.fromState([1, 2, 3])).toThrow('Rng state must be four uint32 integers');
    expect(() => new Rng(Number.NaN)).toThrow(TypeError);
    expect(() => new Rng(0).int(0)).toThrow(RangeError);
  });
});

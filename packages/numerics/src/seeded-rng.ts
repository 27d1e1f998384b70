/**
 * Seeded random numbers on the JS side, identical on every backend.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128-bit state of four uint32 words, seeded
 * through splitmix32 so that nearby seeds give unrelated streams. Uniforms are 24-bit
 * multiples of 2^-24 in [0, 1) (exactly representable in float32); normals use the
 * Box–Muller transform on 32-bit uniforms in (0, 1).
 *
 * The state is four numbers ({@link SeededRng.state}) so checkpoints can store and restore it.
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A seeded, serialisable random-number generator without TensorFlow.js (importable on its own
 * as `@nfdm/core/random`, e.g. by the tfjs-free ONNX runtime). {@link Rng} adds tensor draws.
 */
export class SeededRng {
  protected s: Uint32Array;

  /** `seed` is any integer (only its low 32 bits and, if present, the next 21 bits are used). */
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new TypeError(`seed must be a finite number, got ${seed}`);
    const hi = Math.floor(Math.abs(seed) / 2 ** 32);
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    this.s = new Uint32Array([next(), next(), next(), next()]);
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** Rebuild a generator (of the class it is called on) from {@link SeededRng.state}. */
  static fromState<T extends SeededRng>(this: new (seed?: number) => T, state: readonly number[]): T {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new TypeError('Rng state must be four uint32 integers');
    }
    const rng = new this(0);
    rng.s = Uint32Array.from(state);
    return rng;
  }

  /** The 128-bit state as four uint32 numbers. */
  state(): number[] {
    return Array.from(this.s);
  }

  /** Next raw uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1), a multiple of 2^-24. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
    return Math.floor(((this.nextUint32() >>> 0) / 4294967296) * n);
  }

  /** Standard normal draw (Box–Muller, no caching so the stream position is simple). */
  normal(): number {
    const u1 = (this.nextUint32() + 0.5) / 4294967296;
    const u2 = this.nextUint32() / 4294967296;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A new independent generator of the same class, derived from this one (advances this one). */
  fork(): this {
    const Ctor = this.constructor as new (seed?: number) => this;
    return new Ctor(this.nextUint32() * 2097152 + (this.nextUint32() >>> 11));
  }

  /** `n` uniforms in [lo, hi). */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    const w = hi - lo;
    for (let i = 0; i < n; i++) out[i] = lo + w * this.uniform();
    return out;
  }

  /** `n` normals with the given mean and standard deviation. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

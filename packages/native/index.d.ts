// ESM types: the implementation and its declarations are CommonJS (index.cjs, index.d.cts).
export * from './index.cjs';

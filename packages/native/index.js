// ESM entry: the implementation is CommonJS (it loads the .node file with require).
import native from './index.cjs';

export const { NATIVE_ACTIVATIONS, loadNative, nativeStatus } = native;

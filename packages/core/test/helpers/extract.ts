import type { MLP } from '../../src/index.js';
import type { Layer64 } from './reference64.js';

/** Copy an MLP's weights into float64 reference layers. */
export function layers64(net: MLP): Layer64[] {
  return net.layers.map((l) => ({
    weight: Array.from(l.weight.dataSync()),
    bias: Array.from(l.bias.dataSync()),
    inDim: l.inDim,
    outDim: l.outDim,
  }));
}

/**
 * Shared by the training-step benches: one profiled Trainer step as a kernel table. tfjs is
 * imported when called, so the benches can set the environment (native kernels, threads) first.
 */

/**
 * One profiled `trainer.trainStep()`: kernel launches, their summed time, peak tensor memory and
 * the `top` kernels with the most summed time as [name, launches, ms].
 */
export async function profileStep(trainer, top = 10) {
  const tf = await import('@tensorflow/tfjs');
  const profile = await tf.profile(() => {
    trainer.trainStep();
  });
  const byKernel = new Map();
  for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { n: 0, ms: 0 };
    entry.n += 1;
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, entry);
  }
  const ranked = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  return {
    kernels_per_step: profile.kernels.length,
    kernel_ms_sum: Number([...byKernel.values()].reduce((s, e) => s + e.ms, 0).toFixed(1)),
    peak_tensor_mb: profile.peakBytes / 2 ** 20,
    top_kernels_by_ms: ranked.map(([name, { n, ms }]) => [name, n, Number(ms.toFixed(1))]),
  };
}

/**
 * The client recipe written next to a model's graphs in a Triton repository: the graphs with
 * their tensors, and how a client runs the workflows — one call of a Loop sampler graph with
 * seeded noise, or a client-side solver loop over a field graph — over the Open Inference
 * Protocol, which Triton and `nfdm serve` both speak.
 */
import type { OnnxExport } from '../export.js';
import type { TritonModelConfig, TritonTensor } from './config.js';

function tensorLine(t: TritonTensor): string {
  return `\`${t.name}\` ${t.dataType.replace('TYPE_', '')} [${t.shape.join(', ')}]`;
}

/** The `<model>.README.md` of a Triton repository. */
export function tritonRecipe(model: string, exported: OnnxExport, configs: readonly TritonModelConfig[]): string {
  const m = exported.metadata as unknown as Record<string, unknown>;
  const rows = configs.map(
    (c) =>
      `| \`${c.name}\` | ${c.inputs.map(tensorLine).join('<br>')} | ${c.outputs.map(tensorLine).join('<br>')} | ${c.batchDim ? `yes (${c.batchDim})` : 'no'} |`,
  );
  return `# ${model} in a Triton model repository

Written by \`nfdm export --format triton\`. Every graph of the nfdm model \`${model}\` is a Triton
model \`${model}_<graph>\` (version 1, onnxruntime backend); \`nfdm serve\` serves the same graphs
under the same names at \`/v2/models/${model}_<graph>\`, so a client of one works with the other.
\`${model}.nfdm-onnx.json\` is the export's manifest (dim ${String(m.dim)}, priorStd ${String(m.priorStd)},
standardisation, grids): what a client needs to prepare inputs and read outputs.

| Triton model | inputs | outputs | dynamic batching |
|---|---|---|---|
${rows.join('\n')}

Symbolic dims (N, …) are free; in a batched config the leading one is Triton's batch dim and is
not listed in \`dims\`.

## Workflows

- **Samples in one call** (\`${model}_sampler_<solver>_<mode>\`, \`${model}_diffflow_sampler_<mode>\`,
  \`${model}_bridge_sampler_euler_<mode>\`): the client draws the noise and sends it, so a seeded
  client gets reproducible samples. \`prior_noise\` [N, D] (bridges: \`start_noise\` with the
  \`source\` points) is standard normal (the graph scales it); ODE samplers take \`steps\` [1], SDE
  samplers the Brownian \`noise\` [steps, N, D] (DiffFlow: [grid steps − 1, N, D]), standard
  normal. The output \`samples\` is in data space. Conditional models add \`condition\` [N, w]
  (and \`guidance\` [1]). To get the samples of \`nfdm serve\`'s /v1 routes for a seed, draw as
  \`@nfdm/runtime\`'s samplers do with its \`Rng(seed)\`: \`prior_noise = rng.normalArray(N·D)\`,
  then, for a diffusion model's SDE noise, slice by slice from \`new Rng(rng.nextUint32())\`
  (DiffFlow draws it from the same \`rng\`; the runtime's sources are the reference).
- **Field graphs** (\`velocity\`, \`drift\`, \`velocity_divergence\`, bridge and DiffFlow fields): one
  call per solver stage; the client runs the solver loop (time from 1 down to tStart; Euler:
  \`z ← z − h·velocity(z, t)\`), standardising as the manifest says. A log-density is the
  probability-flow ODE from tStart to 1 with \`velocity_divergence\`, plus log N(z(1); 0, priorStd² I).
  These workflows are sequential per request, so no Triton ensemble can express them; an ensemble
  would add nothing to the one-call samplers.

## An infer request (Open Inference Protocol, JSON)

\`\`\`
POST /v2/models/${model}_sampler_euler_ode/infer
{ "inputs": [
    { "name": "prior_noise", "datatype": "FP32", "shape": [2, D], "data": [ …2·D standard normals… ] },
    { "name": "steps", "datatype": "INT64", "shape": [1], "data": [100] } ] }
\`\`\`

Serve with \`tritonserver --model-repository=<this directory>\`, or \`nfdm serve\` on the nfdm
export directory.
`;
}

/** In-process tests of the CLI's pure parts (no backend, no spawning). */
import { initBackend } from '@nfdm/core';
import { createAnyModel, createModel, type ModelConfig, parseAnyModelConfig, parseModelConfig } from '@nfdm/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/errors.js';
import { dropoutRate, positiveInt, widths } from '../src/cli/options.js';
import { MODEL_NAMES, PRESETS, presetConfig } from '../src/cli/presets.js';
import { completeSettings, parseSettings, trainerConfig } from '../src/cli/run-config.js';
import { logProbChoice, samplerChoice } from '../src/cli/runtime.js';
import { densityHeatmapSvg, panelsSvg, scatterSvg } from '../src/index.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('model names', () => {
  it('map to valid configs with the intended forward process and volatility', () => {
    const kinds = Object.fromEntries(
      MODEL_NAMES.filter((name) => PRESETS[name].family === 'diffusion').map((name) => {
        const c = parseModelConfig(presetConfig(name, { dim: 3, hidden: [8], seed: 1 }));
        const f = c.forward as { kind: string; schedule?: { name: string } };
        const v = c.volatility as { kind: string; schedule?: { name: string } };
        return [name, `${f.kind}${f.schedule ? `:${f.schedule.name}` : ''} / ${v.kind}${v.schedule ? `:${v.schedule.name}` : ''}`];
      }),
    );
    expect(kinds).toEqual({
      nfdm: 'nfdm / neural',
      ndm: 'ndm:linear-logsnr / matched:linear-logsnr',
      vp: 'fixed:vp / matched:vp',
      subvp: 'fixed:subvp / matched:subvp',
      ve: 'fixed:ve / matched:ve',
      cosine: 'fixed:cosine / matched:cosine',
      fm: 'fixed:fm-ot / neural',
      'nfdm-ot': 'nfdm / constant',
    });
    const std = { mean: [1, 2], std: [3, 4] };
    const config = presetConfig('nfdm', { dim: 2, hidden: [4, 4], seed: 0, standardization: std }) as ModelConfig;
    expect(config.standardization).toEqual(std);
    expect(() => createModel(config).dispose()).not.toThrow();
  });

  it('nfbm carries the obstacle and the data pair; diffflow maps --hidden to FourierMLP channels and layers', () => {
    const bridge = parseAnyModelConfig(
      presetConfig('nfbm', {
        dim: 2,
        hidden: [8, 8],
        seed: 2,
        obstacle: { center: [0, 1], radius: 0.5, weight: 3 },
        pair: { source: '8gaussians', target: 'moons' },
      }),
    );
    expect(bridge).toMatchObject({
      format: 'nfdm-bridge/1',
      penalties: [{ kind: 'obstacle', center: [0, 1], radius: 0.5, weight: 3 }],
      data: { source: '8gaussians', target: 'moons' },
    });
    const flow = parseAnyModelConfig(presetConfig('diffflow', { dim: 2, hidden: [16, 32, 32], seed: 0 }));
    expect(flow).toMatchObject({ format: 'nfdm-diffflow/1', network: { channels: 32, layers: 2 }, time: { N: 30, g: 0.2 } });
    for (const c of [bridge, flow]) createAnyModel(c).dispose();
  });

  it('cfm, ot-cfm and rectified-flow are flow-matching configs with their coupling and σ_min 0', () => {
    const couplings = Object.fromEntries(
      (['cfm', 'ot-cfm', 'rectified-flow'] as const).map((name) => {
        const c = parseAnyModelConfig(presetConfig(name, { dim: 2, hidden: [8, 8], seed: 0 }));
        expect(c).toMatchObject({ format: 'nfdm-cfm/1', flow: { sigmaMin: 0 }, velocity: { hidden: [8, 8] } });
        createAnyModel(c).dispose();
        return [name, (c as { flow: { coupling: string } }).flow.coupling];
      }),
    );
    expect(couplings).toEqual({ cfm: 'independent', 'ot-cfm': 'ot', 'rectified-flow': 'independent' });
    // OT-CFM's own default batch (one B × B assignment per update); a given batch is kept.
    expect(completeSettings({ model: 'ot-cfm', data: '8gaussians', steps: 10 }).batch).toBe(256);
    expect(completeSettings({ model: 'ot-cfm', data: '8gaussians', steps: 10, batch: 64 }).batch).toBe(64);
    expect(completeSettings({ model: 'cfm', data: '8gaussians', steps: 10 }).batch).toBe(1024);
    expect(() => completeSettings({ model: 'cfm', data: '8gaussians', steps: 10, reflowFrom: 'runs/rf1' })).toThrow(
      /apply to rectified-flow only/,
    );
  });

  it('diffflow with --arch unet: one U-Net section for drift and score, embedding 2 … 600 for its t ∈ [0.001, 0.05]', () => {
    const flow = parseAnyModelConfig(
      presetConfig('diffflow', { dim: 784, hidden: [16], seed: 0, image: [28, 28, 1], arch: 'unet', base: 16 }),
    );
    expect(flow).toMatchObject({
      format: 'nfdm-diffflow/1',
      network: {
        arch: 'unet',
        image: { height: 28, width: 28, channels: 1 },
        base: 16,
        multipliers: [1, 2, 2],
        attentionResolutions: [7],
        groups: 8,
        embedding: { minFrequency: 2, maxFrequency: 600 },
      },
      time: { N: 30, g: 0.2 },
    });
    expect(completeSettings({ model: 'diffflow', data: 'fashion-mnist', steps: 5, arch: 'unet', base: 8 })).toMatchObject({ arch: 'unet' });
  });

  it('bridge settings: --source/--target are required for nfbm and refused elsewhere; the data spec is derived', () => {
    expect(() => completeSettings({ model: 'nfbm', steps: 5 })).toThrow(/needs --source and --target/);
    const s = completeSettings({ model: 'nfbm', steps: 5, source: '8gaussians', target: 'moons' });
    expect(s.data).toBe('8gaussians->moons');
    expect(() => completeSettings({ model: 'nfbm', steps: 5, source: 'a', target: 'b', data: 'moons' })).toThrow(/not --data/);
    expect(() => completeSettings({ model: 'nfdm', data: 'moons', steps: 5, obstacle: { center: [0, 0], radius: 1, weight: 1 } })).toThrow(
      /--obstacle applies to bridge models/,
    );
    expect(() => parseSettings({ obstacle: { center: [0], radius: 1 } }, 'f.json')).toThrow(/'obstacle' must be/);
    expect(parseSettings({ obstacle: { center: [0, 1], radius: 1 } }, 'f.json').obstacle).toEqual({
      center: [0, 1],
      radius: 1,
      weight: 10,
    });
  });
});

describe('solver flags', () => {
  it('pick the mode from the solver, adaptive ODE by default, fixed steps otherwise', () => {
    expect(samplerChoice({})).toMatchObject({ mode: 'sde', solver: 'euler_maruyama', steps: 100 });
    expect(samplerChoice({ ode: true })).toMatchObject({ mode: 'ode', solver: 'dopri5', adaptive: { rtol: 1e-4, atol: 1e-4 } });
    expect(samplerChoice({ solver: 'RK45', rtol: 1e-6 })).toMatchObject({ mode: 'ode', solver: 'dopri5', adaptive: { rtol: 1e-6 } });
    expect(samplerChoice({ solver: 'rk4' })).toMatchObject({ mode: 'ode', solver: 'rk4', steps: 100 });
    expect(samplerChoice({ solver: 'dopri5', steps: 7 })).toMatchObject({ steps: 7 });
    expect(samplerChoice({ solver: 'dopri5', steps: 7 }).adaptive).toBeUndefined();
    expect(samplerChoice({ solver: 'em', steps: 30 })).toMatchObject({ mode: 'sde', solver: 'euler_maruyama', steps: 30 });
    // One spelling: --solver euler-maruyama / Stochastic-Heun resolve to the canonical registry names.
    expect(samplerChoice({ solver: 'euler-maruyama' })).toMatchObject({ mode: 'sde', solver: 'euler_maruyama', steps: 100 });
    expect(samplerChoice({ solver: 'Stochastic-Heun' })).toMatchObject({ mode: 'sde', solver: 'stochastic_heun' });
    expect(logProbChoice({}, 1e-5)).toMatchObject({ solver: 'dopri5', rtol: 1e-5, atol: 1e-5, steps: undefined });
  });

  it('reject contradictions as usage errors', () => {
    for (const flags of [
      { ode: true as const, sde: true as const },
      { solver: 'sra1', ode: true as const },
      { solver: 'heun', sde: true as const },
      { solver: 'nope' },
      { sde: true as const, rtol: 1e-3 },
      { solver: 'rk4', atol: 1e-3 },
    ]) {
      expect(() => samplerChoice(flags)).toThrow(UsageError);
    }
  });
});

describe('settings', () => {
  it('fill defaults, derive the trainer config, and name the file and key on errors', () => {
    const s = completeSettings({ model: 'vp', data: 'moons', steps: 400 });
    expect(s).toMatchObject({ batch: 1024, hidden: [64, 64, 64, 64], lr: 1e-3, ema: 0.999, clip: 1 });
    expect(trainerConfig(s)).toMatchObject({
      steps: 400,
      batchSize: 1024,
      schedule: { kind: 'cosine', lr: 1e-3, warmup: 20, floor: 1e-5 },
    });
    expect(() => completeSettings({ data: 'moons', steps: 3 })).toThrow(/--model is required/);
    expect(() => parseSettings({ model: 'nfdm', steps: 0 }, 'cfg.json')).toThrow("cfg.json: 'steps' must be an integer ≥ 1, got 0");
    expect(() => parseSettings({ modle: 'nfdm' }, 'cfg.json')).toThrow(/cfg.json: unknown setting 'modle'/);
    expect(() => parseSettings({ model: 'ddpm' }, 'cfg.json')).toThrow(/'model' must be one of nfdm, ndm/);
  });

  it('flag parsers accept what they document', () => {
    expect(positiveInt('12')).toBe(12);
    for (const bad of ['0', '-3', '1.5', 'ten', '', '1e3']) expect(() => positiveInt(bad)).toThrow(/positive integer/);
    expect(widths('64, 32,16')).toEqual([64, 32, 16]);
    expect(() => widths('64,,3')).toThrow(/widths/);
    expect(dropoutRate('0.1')).toBe(0.1);
    expect(dropoutRate('0')).toBe(0);
    for (const bad of ['1', '-0.1', '1.5', 'half', '']) expect(() => dropoutRate(bad)).toThrow(/dropout rate in \[0, 1\)/);
  });

  it('--dropout: the predictor U-Net of --arch unet models gets the rate (not the forward process); refused elsewhere', () => {
    const image: [number, number, number] = [8, 8, 1];
    const options = { dim: 64, hidden: [8], seed: 1, image, arch: 'unet' as const, base: 8 };
    const config = presetConfig('nfdm', { ...options, dropout: 0.2 }) as ModelConfig;
    expect(config.predictor.network?.dropout).toBe(0.2);
    expect((config.forward as { network?: object }).network).not.toHaveProperty('dropout');
    const model = createModel(parseModelConfig(config));
    expect(modelDropout(model)).toEqual([0.2, 0]);
    model.dispose();
    expect((presetConfig('vp', options) as ModelConfig).predictor.network).not.toHaveProperty('dropout');
    const unet = { model: 'vp' as const, data: 'fashion-mnist-14', steps: 2 };
    expect(completeSettings({ ...unet, arch: 'unet', dropout: 0.1 }).dropout).toBe(0.1);
    expect(() => completeSettings({ ...unet, dropout: 0.1 })).toThrow(UsageError);
    expect(() => completeSettings({ ...unet, dropout: 0.1 })).toThrow(/--dropout .* needs --arch unet/);
    for (const arch of [undefined, 'unet' as const])
      expect(() => completeSettings({ model: 'diffflow', data: 'moons', steps: 2, arch, dropout: 0.1 })).toThrow(
        /--dropout applies to the U-Net predictor of diffusion models and bridges, not diffflow/,
      );
    expect(() => completeSettings({ model: 'nfbm', source: 'moons', target: '8gaussians', steps: 2, dropout: 0.1 })).toThrow(
      /--dropout .* needs --arch unet/,
    );
    expect(parseSettings({ dropout: 0.3 }, 'cfg.json')).toEqual({ dropout: 0.3 });
    expect(() => parseSettings({ dropout: 1 }, 'cfg.json')).toThrow("cfg.json: 'dropout' must be a rate in [0, 1), got 1");
  });
});

/** The dropout rates of a model's predictor and forward-process U-Nets (0 for none). */
function modelDropout(model: ReturnType<typeof createModel>): number[] {
  return [model.predictor, model.forward].map((part) => {
    const net = (part as { net?: { options?: { dropout?: number } } }).net;
    return net?.options?.dropout ?? 0;
  });
}

describe('figure composition', () => {
  it('lays panels out side by side with unique ids, and adds a colour bar to heat maps', () => {
    const a = scatterSvg([{ points: [0, 0, 1, 1] }], { width: 200, height: 100 });
    const b = scatterSvg([{ points: [0, 0] }], { width: 300, height: 150 });
    const row = panelsSvg([a, b], { gap: 10 });
    expect(row).toMatch(/^<svg [^>]*width="510" height="150"/);
    expect(row).toContain('id="p0-plot"');
    expect(row).toContain('url(#p1-plot)');
    expect(row).not.toMatch(/id="plot"/);
    const column = panelsSvg([a, b], { direction: 'column', gap: 0, title: 't' });
    expect(column).toMatch(/^<svg [^>]*width="300" height="278"/);
    const heat = densityHeatmapSvg([0, 1, 2, 3], 2, 2, { xMin: 0, xMax: 1, yMin: 0, yMax: 1 }, { width: 200, height: 200 });
    expect(heat).toContain('shape-rendering="crispEdges"');
    expect(heat).toContain('>3.000<');
    expect(heat).toContain('>0.000<');
  });
});

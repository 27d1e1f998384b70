/**
 * The webgpu backend's failure paths and its place in `'auto'`, with stand-ins for Dawn's
 * binding (initBackend's `importer`), plus the real `webgpu` package with the Vulkan loader
 * pointed at no driver: each failure is ONE line naming the cause. Its parity against wasm,
 * which needs a WebGPU adapter, is in the system suite (test/system/webgpu.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, initBackend } from '../src/index.js';

const dawnWithoutAdapter = { create: () => ({ requestAdapter: async () => null }), globals: {} };

describe('the webgpu backend', () => {
  it("'auto' never tries it (it cannot read tensors synchronously)", async () => {
    const asked: string[] = [];
    const report = await initBackend('auto', {
      env: {},
      importer: async (name) => {
        asked.push(name);
        return import(name);
      },
    });
    expect(report.backend).toBe('wasm');
    expect(asked).not.toContain('webgpu');
    expect(report.attempts.map((a) => a.backend)).not.toContain('webgpu');
  });

  it('without a GPU adapter, asking for it fails with one line', async () => {
    const importer = async (name: string) => (name === 'webgpu' ? dawnWithoutAdapter : import(name));
    const attempt = initBackend('webgpu', { env: {}, importer });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    const error = await initBackend('webgpu', { env: {}, importer }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      "backend 'webgpu' is not available (@tensorflow/tfjs-backend-webgpu: no WebGPU adapter: Dawn found no usable GPU (Vulkan, Metal or D3D12 device))",
    );
  });

  it('without its packages, asking for it fails with one line naming them', async () => {
    const importer = async (name: string) => {
      if (name === 'webgpu') throw Object.assign(new Error("Cannot find package 'webgpu'"), { code: 'ERR_MODULE_NOT_FOUND' });
      return import(name);
    };
    await expect(initBackend('webgpu', { env: {}, importer })).rejects.toThrow(
      /^backend 'webgpu' is not available \(@tensorflow\/tfjs-backend-webgpu: not installed \(optional peer dependencies: npm install webgpu@0\.6\.2 @tensorflow\/tfjs-backend-webgpu@4\.22\.0\)\)$/,
    );
  });

  it('NFDM_BACKEND=webgpu is accepted as a name', async () => {
    const importer = async (name: string) => (name === 'webgpu' ? dawnWithoutAdapter : import(name));
    await expect(initBackend(undefined, { env: { NFDM_BACKEND: 'webgpu' }, importer })).rejects.toThrow(
      /backend 'webgpu' is not available/,
    );
  });

  it("with the real 'webgpu' package and no Vulkan driver, the error is one line (a separate process)", () => {
    const script = `import { initBackend } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'index.js'))};
initBackend('webgpu', { env: {} }).then(() => console.log('started'), (e) => console.log(JSON.stringify(e.message)));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/nfdm-no-driver.json', VK_DRIVER_FILES: '/nonexistent/nfdm-no-driver.json' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'], // Dawn's own diagnostics go to stderr
    });
    const message = JSON.parse(out.trim().split('\n').pop() as string);
    expect(message).toBe(
      "backend 'webgpu' is not available (@tensorflow/tfjs-backend-webgpu: no WebGPU adapter: Dawn found no usable GPU (Vulkan, Metal or D3D12 device))",
    );
  });
});

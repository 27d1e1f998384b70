/**
 * Image answers: `"format": "png"` on /samples and /transport returns the points as one PNG
 * grid (image/png) instead of JSON rows — for models whose export records the image of a data
 * row (`nfdm.image`, e.g. U-Net models; see @nfdm/runtime's imageGridPng). Transport grids show
 * each source next to its target. The numbers that a JSON body would carry besides the rows
 * (n, steps, solver, mode, seed, engine, nfe, ms) travel as `x-nfdm-*` headers.
 */
import { imageGridPng } from '@nfdm/runtime';
import type { FastifyReply } from 'fastify';
import { HttpError } from './errors.js';
import type { LoadedModel } from './models.js';

/** The `format` of a points request. */
export type PointsFormat = 'json' | 'png';

/** 422 when a PNG is asked of a model that does not say what image its rows hold, or whose images are not grey or RGB. */
export function checkFormat(format: PointsFormat | undefined, entry: LoadedModel): void {
  if (format !== 'png') return;
  const image = entry.model.image;
  if (image && image.channels !== 1 && image.channels !== 3) {
    throw new HttpError(
      422,
      'NOT_AN_IMAGE_MODEL',
      `model '${entry.name}' draws ${image.channels}-channel images; a PNG holds grey (1) or RGB (3) images`,
    );
  }
  if (!image) {
    throw new HttpError(
      422,
      'NOT_AN_IMAGE_MODEL',
      `model '${entry.name}' does not record an image shape (nfdm.image), so its points cannot be drawn as a PNG; ask for "format": "json"`,
    );
  }
}

/**
 * Send a computed JSON body as a PNG grid of its points: `samples` rows (and `sources` before
 * each, for transport) drawn by imageGridPng; the scalar fields become `x-nfdm-<field>` headers.
 */
export function sendPng(reply: FastifyReply, entry: LoadedModel, body: Record<string, unknown>, sources?: number[][]): FastifyReply {
  const image = entry.model.image;
  if (!image) throw new Error(`internal: model '${entry.name}' has no image shape`);
  const n = body.n as number;
  const D = entry.info.dim;
  const samples = body.samples as Array<Array<number | null>>;
  const flat = Float64Array.from(samples.flat(), (v) => v ?? Number.NaN); // null (non-finite) draws black
  let rows: ArrayLike<number> = flat;
  let count = n;
  let columns: number | undefined;
  if (sources) {
    // Pairs source | target, side by side, in as square a grid as pairs allow.
    const pairs = new Float32Array(2 * n * D);
    for (let i = 0; i < n; i++) {
      pairs.set(sources[i], 2 * i * D);
      pairs.set(flat.subarray(i * D, (i + 1) * D), (2 * i + 1) * D);
    }
    rows = pairs;
    count = 2 * n;
    columns = 2 * Math.ceil(Math.sqrt(n));
  }
  const scale = Math.max(1, Math.round(64 / Math.max(image.height, image.width)));
  const png = imageGridPng(rows, count, image, { columns, scale });
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'samples' && (typeof value === 'number' || typeof value === 'string'))
      reply.header(`x-nfdm-${key.toLowerCase()}`, String(value));
  }
  return reply.type('image/png').send(Buffer.from(png));
}

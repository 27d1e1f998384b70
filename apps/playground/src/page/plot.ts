/**
 * The 2-D view: points, paths and a density heat map on one canvas, in data coordinates mapped
 * to pixels by a square window [x0, x0 + w] × [y0, y0 + w] (y up).
 */

/** The square window of data coordinates the canvas shows. */
export interface Window2d {
  x0: number;
  y0: number;
  width: number;
}

/** A square window holding the 1st–99th percentile of the points' coordinates, with a margin. */
export function windowOf(points: ArrayLike<number>, margin = 0.15): Window2d {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    if (Number.isFinite(points[i]) && Number.isFinite(points[i + 1])) {
      xs.push(points[i]);
      ys.push(points[i + 1]);
    }
  }
  if (xs.length === 0) return { x0: -4, y0: -4, width: 8 };
  const q = (v: number[], p: number) => v.sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))];
  const [xa, xb, ya, yb] = [q(xs, 0.01), q(xs, 0.99), q(ys, 0.01), q(ys, 0.99)];
  const width = Math.max(xb - xa, yb - ya, 1e-3) * (1 + 2 * margin);
  return { x0: (xa + xb) / 2 - width / 2, y0: (ya + yb) / 2 - width / 2, width };
}

/** The heat map's range: log p from its max down to max − HEAT_RANGE nats (white below). */
export const HEAT_RANGE = 8;

/** Colours of the view (and the legend). */
export const COLORS = {
  samples: '#1f5fbf',
  prior: '#9aa4b1',
  sources: '#2e8b57',
  targets: '#d9480f',
  path: '#1f5fbf33',
  obstacle: '#c92a2a',
};

export class Plot {
  private readonly ctx: CanvasRenderingContext2D;
  window: Window2d = { x0: -4, y0: -4, width: 8 };

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2-D canvas context');
    this.ctx = ctx;
  }

  px(x: number): number {
    return ((x - this.window.x0) / this.window.width) * this.canvas.width;
  }

  py(y: number): number {
    return this.canvas.height - ((y - this.window.y0) / this.window.width) * this.canvas.height;
  }

  /** The last heat map and the window it was computed on. */
  private background: { image: HTMLCanvasElement; window: Window2d } | null = null;

  /** Whether {@link clear} paints the last heat map (it is kept while the window does not change). */
  get showsHeat(): boolean {
    const b = this.background?.window;
    return b !== undefined && b.x0 === this.window.x0 && b.y0 === this.window.y0 && b.width === this.window.width;
  }

  /** White (or the last heat map, while the window is the one it was computed on) and the axes. */
  clear(): void {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.background && this.showsHeat) {
      this.ctx.imageSmoothingEnabled = true;
      this.ctx.drawImage(this.background.image, 0, 0, this.canvas.width, this.canvas.height);
    }
    this.axes();
  }

  /** Forget the heat map (another model). */
  forgetHeat(): void {
    this.background = null;
  }

  private axes(): void {
    const { ctx } = this;
    ctx.strokeStyle = '#0002';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(this.px(0), 0);
    ctx.lineTo(this.px(0), this.canvas.height);
    ctx.moveTo(0, this.py(0));
    ctx.lineTo(this.canvas.width, this.py(0));
    ctx.stroke();
  }

  /** Points (row-major pairs) as dots. */
  points(xy: ArrayLike<number>, color: string, radius = 1.6): void {
    const { ctx } = this;
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < xy.length; i += 2) {
      ctx.beginPath();
      ctx.arc(this.px(xy[i]), this.py(xy[i + 1]), radius, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  /** Paths of n points through frames 0..upTo of states [frames, n, 2]. */
  paths(states: Float32Array, n: number, upTo: number, color: string): void {
    const { ctx } = this;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      ctx.moveTo(this.px(states[2 * i]), this.py(states[2 * i + 1]));
      for (let k = 1; k <= upTo; k++) ctx.lineTo(this.px(states[(k * n + i) * 2]), this.py(states[(k * n + i) * 2 + 1]));
    }
    ctx.stroke();
  }

  /** A disc outline (the bridge's obstacle). */
  circle(cx: number, cy: number, r: number, color: string): void {
    const { ctx } = this;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(this.px(cx), this.py(cy), (r / this.window.width) * this.canvas.width, 0, 2 * Math.PI);
    ctx.stroke();
  }

  /**
   * A G × G heat map of log-densities (row j = y from the top, column i = x): white at or below
   * max − `range` nats, orange at the max — a log scale clipped to the top `range` nats, so a few
   * very unlikely cells (the window's corners) do not flatten the rest.
   */
  heat(logp: ArrayLike<number>, G: number, range = HEAT_RANGE): void {
    const hi = Math.max(...Array.from(logp).filter(Number.isFinite));
    const image = new ImageData(G, G);
    for (let k = 0; k < G * G; k++) {
      const v = Number.isFinite(logp[k]) ? Math.min(1, Math.max(0, 1 - (hi - logp[k]) / range)) : 0;
      // white → orange (the samples and paths on it are blue)
      image.data[4 * k] = Math.round(255 - 15 * v);
      image.data[4 * k + 1] = Math.round(255 - 125 * v);
      image.data[4 * k + 2] = Math.round(255 - 255 * v);
      image.data[4 * k + 3] = 255;
    }
    const tmp = document.createElement('canvas');
    tmp.width = G;
    tmp.height = G;
    tmp.getContext('2d')?.putImageData(image, 0, 0);
    this.background = { image: tmp, window: { ...this.window } };
    this.clear();
  }

  /** The G × G cell centres of the window, row-major from the top-left (as {@link heat} draws them). */
  gridPoints(G: number): Float32Array {
    const out = new Float32Array(G * G * 2);
    const { x0, y0, width } = this.window;
    for (let j = 0; j < G; j++) {
      for (let i = 0; i < G; i++) {
        out[2 * (j * G + i)] = x0 + ((i + 0.5) / G) * width;
        out[2 * (j * G + i) + 1] = y0 + width - ((j + 0.5) / G) * width;
      }
    }
    return out;
  }
}

/** Run `draw(k)` for frames k = 0..frames − 1 over about `ms` milliseconds (requestAnimationFrame). */
export function animate(frames: number, draw: (k: number) => void, ms = 1500): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    const tick = (now: number) => {
      const k = Math.min(frames - 1, Math.floor(((now - start) / ms) * frames));
      draw(k);
      if (k < frames - 1) requestAnimationFrame(tick);
      else resolve();
    };
    requestAnimationFrame(tick);
  });
}

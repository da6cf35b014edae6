// viva charts: small, dependency-free inline SVG. Bars for scores, lines for pace
// and progress. Every chart is a responsive <svg> (viewBox, width 100%) whose
// colours come from CSS classes in review.css, so light and dark themes just work.
// Text goes in through textContent only.

const NS = 'http://www.w3.org/2000/svg';

/**
 * Build an SVG element.
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} [attrs]
 * @param {string | null} [text]
 * @returns {SVGElement}
 */
function svgEl(tag, attrs = {}, text = null) {
  const node = /** @type {SVGElement} */ (document.createElementNS(NS, tag));
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    node.setAttribute(k, String(v));
  }
  if (text !== null) node.textContent = text;
  return node;
}

/** @param {number} v */
const r1 = (v) => Math.round(v * 10) / 10;

/**
 * "Nice" round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten).
 * @param {number} lo
 * @param {number} hi
 * @param {number} [count] about how many ticks
 * @returns {number[]}
 */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.round(t / step) * step);
  }
  return ticks;
}

/**
 * A score band class for a 0-100 value (matches the main page's colours).
 * @param {number | null | undefined} v
 */
export function band(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'none';
  return v >= 75 ? 'good' : v >= 50 ? 'fair' : 'weak';
}

/**
 * @typedef {{label: string, value: number | null | undefined, title?: string}} Bar
 */

/**
 * Vertical bars, one per item, on a 0..max scale; a missing value shows an em dash.
 * @param {Bar[]} items
 * @param {{max?: number, width?: number, height?: number, title?: string}} [opts]
 * @returns {SVGSVGElement}
 */
export function barChart(items, opts = {}) {
  const width = opts.width ?? 640;
  const height = opts.height ?? 200;
  const max = opts.max ?? 100;
  const m = { top: 18, right: 10, bottom: 30, left: 34 };
  const innerW = width - m.left - m.right;
  const innerH = height - m.top - m.bottom;
  const y = (/** @type {number} */ v) => m.top + innerH - (Math.max(0, Math.min(max, v)) / max) * innerH;

  const svg = /** @type {SVGSVGElement} */ (svgEl('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'chart chart-bars', role: 'img',
    'aria-label': opts.title ?? 'bar chart', preserveAspectRatio: 'xMidYMid meet',
  }));
  svg.append(svgEl('title', {}, opts.title ?? 'bar chart'));

  const grid = svgEl('g', { class: 'grid' });
  for (const t of niceTicks(0, max, 4)) {
    grid.append(svgEl('line', { x1: m.left, x2: width - m.right, y1: r1(y(t)), y2: r1(y(t)) }));
    grid.append(svgEl('text', { x: m.left - 6, y: r1(y(t)), class: 'tick tick-y', 'text-anchor': 'end',
      'dominant-baseline': 'middle' }, String(t)));
  }
  svg.append(grid);

  const n = Math.max(1, items.length);
  const slot = innerW / n;
  const barW = Math.min(56, slot * 0.62);
  const bars = svgEl('g', { class: 'bars' });
  items.forEach((item, i) => {
    const cx = m.left + slot * i + slot / 2;
    const value = typeof item.value === 'number' && Number.isFinite(item.value) ? item.value : null;
    const g = svgEl('g', { class: `bar-group band-${band(value)}`, 'data-index': i });
    g.append(svgEl('title', {}, `${item.title ?? item.label}: ${value === null ? 'not scored' : Math.round(value)}`));
    if (value !== null) {
      const top = y(value);
      g.append(svgEl('rect', { class: 'bar', x: r1(cx - barW / 2), y: r1(top), width: r1(barW),
        height: r1(Math.max(1, m.top + innerH - top)), rx: 3 }));
    }
    g.append(svgEl('text', { class: 'bar-value', x: r1(cx), y: r1((value === null ? y(0) : y(value)) - 5),
      'text-anchor': 'middle' }, value === null ? '—' : String(Math.round(value))));
    g.append(svgEl('text', { class: 'tick tick-x', x: r1(cx), y: height - m.bottom + 16,
      'text-anchor': 'middle' }, item.label));
    bars.append(g);
  });
  svg.append(bars);
  svg.append(svgEl('line', { class: 'axis', x1: m.left, x2: width - m.right,
    y1: m.top + innerH, y2: m.top + innerH }));
  return svg;
}

/**
 * @typedef {{name: string, points: Array<[number, number]>, emphasis?: boolean}} Series
 */

/**
 * Lines over a numeric x axis, one per series, with dots at the points.
 * @param {Series[]} series
 * @param {{width?: number, height?: number, title?: string, xLabel?: string, yLabel?: string,
 *   yMin?: number, yMax?: number, xMin?: number, xMax?: number,
 *   xTicks?: Array<{x: number, label: string}>, xFormat?: (x: number) => string,
 *   band?: [number, number], bandLabel?: string, legend?: boolean, dots?: boolean}} [opts]
 * @returns {SVGSVGElement}
 */
export function lineChart(series, opts = {}) {
  const width = opts.width ?? 640;
  const height = opts.height ?? 220;
  const legend = opts.legend ?? series.length > 1;
  const m = { top: legend ? 30 : 14, right: 14, bottom: opts.xLabel ? 40 : 26, left: opts.yLabel ? 48 : 38 };
  const innerW = width - m.left - m.right;
  const innerH = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let xMin = opts.xMin ?? (xs.length ? Math.min(...xs) : 0);
  let xMax = opts.xMax ?? (xs.length ? Math.max(...xs) : 1);
  if (xMax <= xMin) { xMin -= 0.5; xMax += 0.5; }
  const yMin = opts.yMin ?? 0;
  const yTicks = niceTicks(yMin, opts.yMax ?? Math.max(yMin + 1, ...ys, opts.band ? opts.band[1] : -Infinity), 4);
  const yMax = opts.yMax ?? yTicks[yTicks.length - 1];
  const x = (/** @type {number} */ v) => m.left + ((v - xMin) / (xMax - xMin)) * innerW;
  const y = (/** @type {number} */ v) => m.top + innerH - ((Math.max(yMin, Math.min(yMax, v)) - yMin) / (yMax - yMin)) * innerH;

  const svg = /** @type {SVGSVGElement} */ (svgEl('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'chart chart-lines', role: 'img',
    'aria-label': opts.title ?? 'line chart', preserveAspectRatio: 'xMidYMid meet',
  }));
  svg.append(svgEl('title', {}, opts.title ?? 'line chart'));

  if (opts.band) {
    const [lo, hi] = opts.band;
    const b = svgEl('g', { class: 'chart-band' });
    b.append(svgEl('rect', { x: m.left, width: innerW, y: r1(y(hi)), height: r1(Math.max(0, y(lo) - y(hi))) }));
    if (opts.bandLabel) {
      b.append(svgEl('text', { x: width - m.right - 4, y: r1(y(hi) + 11), 'text-anchor': 'end',
        class: 'band-label' }, opts.bandLabel));
    }
    svg.append(b);
  }

  const grid = svgEl('g', { class: 'grid' });
  for (const t of yTicks.filter((t) => t <= yMax)) {
    grid.append(svgEl('line', { x1: m.left, x2: width - m.right, y1: r1(y(t)), y2: r1(y(t)) }));
    grid.append(svgEl('text', { x: m.left - 6, y: r1(y(t)), class: 'tick tick-y', 'text-anchor': 'end',
      'dominant-baseline': 'middle' }, String(t)));
  }
  const xTicks = opts.xTicks ?? niceTicks(xMin, xMax, 6).filter((t) => t >= xMin && t <= xMax)
    .map((t) => ({ x: t, label: opts.xFormat ? opts.xFormat(t) : String(t) }));
  // Thin the labels so that they never overlap (about 48 px each).
  const every = Math.max(1, Math.ceil(xTicks.length / Math.max(1, Math.floor(innerW / 48))));
  xTicks.forEach((t, i) => {
    if (i % every) return;
    grid.append(svgEl('text', { x: r1(x(t.x)), y: m.top + innerH + 16, class: 'tick tick-x',
      'text-anchor': 'middle' }, t.label));
  });
  svg.append(grid);
  svg.append(svgEl('line', { class: 'axis', x1: m.left, x2: width - m.right,
    y1: m.top + innerH, y2: m.top + innerH }));
  if (opts.xLabel) {
    svg.append(svgEl('text', { class: 'axis-label', x: m.left + innerW / 2, y: height - 6,
      'text-anchor': 'middle' }, opts.xLabel));
  }
  if (opts.yLabel) {
    svg.append(svgEl('text', { class: 'axis-label', x: 12, y: m.top + innerH / 2, 'text-anchor': 'middle',
      transform: `rotate(-90 12 ${r1(m.top + innerH / 2)})` }, opts.yLabel));
  }

  // Emphasised series (the overall score) are drawn last, on top of the others.
  const drawOrder = series.map((s, i) => ({ s, i })).sort((a, b) => Number(!!a.s.emphasis) - Number(!!b.s.emphasis));
  drawOrder.forEach(({ s, i }) => {
    const g = svgEl('g', { class: `series series-${i % 8}${s.emphasis ? ' emphasis' : ''}`, 'data-name': s.name });
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${r1(x(p[0]))},${r1(y(p[1]))}`).join(' ');
      g.append(svgEl('path', { class: 'line', d }));
    }
    if (opts.dots ?? pts.length <= 40) {
      for (const p of pts) {
        const dot = svgEl('circle', { class: 'dot', cx: r1(x(p[0])), cy: r1(y(p[1])), r: 3.5 });
        dot.append(svgEl('title', {}, `${s.name}: ${Math.round(p[1])}`));
        g.append(dot);
      }
    }
    svg.append(g);
  });

  if (legend) {
    const g = svgEl('g', { class: 'legend' });
    let lx = m.left;
    series.forEach((s, i) => {
      const item = svgEl('g', { class: `series series-${i % 8}${s.emphasis ? ' emphasis' : ''}` });
      item.append(svgEl('line', { class: 'line', x1: lx, x2: lx + 16, y1: 12, y2: 12 }));
      item.append(svgEl('text', { x: lx + 20, y: 12, 'dominant-baseline': 'middle', class: 'legend-text' }, s.name));
      g.append(item);
      lx += 20 + s.name.length * 6.6 + 16;
    });
    svg.append(g);
  }
  return svg;
}

/**
 * Speaking pace over an answer: words per minute in a sliding window, from the word
 * timings. Returns [seconds, wpm] points; empty when there is too little speech.
 * @param {Array<{start: number, end: number}>} words
 * @param {{window?: number, step?: number}} [opts] window and step in seconds
 * @returns {Array<[number, number]>}
 */
export function paceSeries(words, opts = {}) {
  const windowS = opts.window ?? 6;
  const step = opts.step ?? 0.5;
  const ws = (words || []).filter((w) => Number.isFinite(w?.start) && Number.isFinite(w?.end))
    .map((w) => ({ start: w.start, end: Math.max(w.start, w.end) }))
    .sort((a, b) => a.start - b.start);
  if (ws.length < 3) return [];
  const t0 = ws[0].start;
  const t1 = ws[ws.length - 1].end;
  if (t1 - t0 < 1) return [];
  const mids = ws.map((w) => (w.start + w.end) / 2);
  /** @type {Array<[number, number]>} */
  const points = [];
  const last = t1 + step * 0.5;
  for (let t = t0; t <= last; t += step) {
    const lo = Math.max(t0, t - windowS / 2);
    const hi = Math.min(t1, t + windowS / 2);
    if (hi - lo < 0.5) continue;
    const count = mids.filter((mid) => mid >= lo && mid < hi).length;
    points.push([r1(t), Math.round((count / (hi - lo)) * 60)]);
  }
  return points;
}

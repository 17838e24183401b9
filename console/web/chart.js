// Deliveries per account over time as an SVG line chart, drawn here (no
// library): chartModel() turns /cairn/v1/audit/stats into evenly spaced
// buckets (missing buckets are zero) and needs no DOM; drawChart() draws it.

import { utcText } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
export const PALETTE_SIZE = 8;

const stepOf = (bucket) => (bucket === 'hour' ? 3600e3 : 86400e3);

export function chartModel(stats, { since, until, bucket, metric = 'objects' }) {
  const step = stepOf(bucket);
  const start = Math.floor(since.getTime() / step) * step;
  const end = Math.floor(until.getTime() / step) * step;
  const times = [];
  for (let t = start; t <= end && times.length < 5000; t += step) times.push(t);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = [];
  for (const s of stats.series || []) {
    const values = new Array(times.length).fill(0);
    for (const p of s.points || []) {
      const t = Math.floor(Date.parse(p.time) / step) * step;
      const i = index.get(t);
      if (i !== undefined) values[i] += Number(p[metric]) || 0;
    }
    const total = values.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    let peakAt = 0;
    values.forEach((v, i) => {
      if (v > values[peakAt]) peakAt = i;
    });
    series.push({ account: s.account, values, total, peak: values[peakAt], peakTime: utcText(new Date(times[peakAt])) });
  }
  series.sort((a, b) => b.total - a.total || a.account.localeCompare(b.account));
  series.forEach((s, i) => {
    s.color = i % PALETTE_SIZE;
    s.dash = Math.floor(i / PALETTE_SIZE) % 3;
  });
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  return { bucket, metric, times, series, max };
}

// The smallest 1, 2 or 5 times a power of ten that is >= v (at least 1).
export function niceCeil(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const pad = (n) => String(n).padStart(2, '0');
function tickLabel(t, bucket) {
  const d = new Date(t);
  const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return bucket === 'hour' ? `${day} ${pad(d.getUTCHours())}:00` : day;
}

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// `width`: the room on the page in CSS pixels, so that text keeps its size on
// a narrow window (the SVG is drawn at that width instead of shrunk).
export function drawChart(model, title, width = 960) {
  const W = Math.max(320, Math.min(960, Math.round(width) || 960));
  const left = W < 600 ? 44 : 64;
  const right = 20;
  const plotW = W - left - right;
  // Legend rows at the top, laid out by an estimate of the text's width.
  const legend = el('g', { class: 'legend' });
  let lx = left;
  let ly = 18;
  for (const s of model.series) {
    const label = `${s.account} (${s.total})`;
    const w = 24 + label.length * 7.5 + 18;
    if (lx + w > W - right && lx > left) {
      lx = left;
      ly += 22;
    }
    const item = el('g', { class: 'legend-item', 'data-account': s.account });
    item.append(
      el('line', { x1: lx, y1: ly - 4, x2: lx + 18, y2: ly - 4, class: `series c${s.color} d${s.dash}` }),
      el('text', { x: lx + 24, y: ly, class: 'legend-text' }, label),
    );
    legend.append(item);
    lx += w;
  }
  const top = model.series.length ? ly + 18 : 24;
  const plotH = W < 600 ? 200 : 260;
  const H = top + plotH + 44;
  const svg = el('svg', { id: 'deliveries-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'deliveries-chart-title', preserveAspectRatio: 'xMidYMid meet' });
  svg.append(el('title', { id: 'deliveries-chart-title' }, `${title}. ${model.series.map((s) => `${s.account}: ${s.total}`).join(', ') || 'No deliveries.'}`));
  svg.append(legend);

  const yMax = niceCeil(model.max);
  const n = model.times.length;
  const x = (i) => (n <= 1 ? left + plotW / 2 : left + (i * plotW) / (n - 1));
  const y = (v) => top + plotH - (v / yMax) * plotH;

  const grid = el('g', { class: 'grid' });
  const ticks = 5;
  for (let k = 0; k <= ticks; k++) {
    const v = (yMax * k) / ticks;
    const yy = y(v);
    grid.append(el('line', { x1: left, x2: W - right, y1: yy, y2: yy, class: k === 0 ? 'axis' : 'gridline' }));
    grid.append(el('text', { x: left - 8, y: yy + 4, class: 'tick y' }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / (model.bucket === 'hour' ? 110 : 70)))));
  for (let i = 0; i < n; i += every) {
    grid.append(el('line', { x1: x(i), x2: x(i), y1: top + plotH, y2: top + plotH + 5, class: 'axis' }));
    grid.append(el('text', { x: x(i), y: top + plotH + 20, class: 'tick x' }, tickLabel(model.times[i], model.bucket)));
  }
  grid.append(el('text', { x: left + plotW / 2, y: H - 6, class: 'axis-title' }, `time (UTC, per ${model.bucket})`));
  svg.append(grid);

  for (const s of model.series) {
    const g = el('g', { class: 'series-group', 'data-account': s.account });
    const d = s.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const path = el('path', { d, class: `series c${s.color} d${s.dash}`, 'data-account': s.account });
    path.append(el('title', {}, `${s.account}: ${s.total} in all`));
    g.append(path);
    s.values.forEach((v, i) => {
      if (v === 0) return;
      const dot = el('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3, class: `dot c${s.color}` });
      dot.append(el('title', {}, `${s.account}: ${v} ${model.metric}, ${tickLabel(model.times[i], model.bucket)} UTC`));
      g.append(dot);
    });
    svg.append(g);
  }
  if (!model.series.length) {
    svg.append(el('text', { x: left + plotW / 2, y: top + plotH / 2, class: 'empty-note' }, 'No deliveries in this range'));
  }
  return svg;
}

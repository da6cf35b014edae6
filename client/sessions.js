// viva sessions page: every stored session, newest first, and the score per
// category across sessions (oldest to newest) as lines.

import { el, fmtScore, scoreBand } from './render.js';
import { lineChart } from './charts.js';

const params = new URLSearchParams(location.search);
const key = params.get('key');

/** @param {string} text */
function showBanner(text) {
  const stack = /** @type {HTMLElement} */ (document.getElementById('error-banner'));
  stack.hidden = false;
  stack.append(el('div', { class: 'banner banner-error', role: 'alert' }, el('p', { class: 'banner-text', text })));
}

/**
 * One line per category (and a bold one for the overall score), x = session number.
 * @param {any[]} sessions newest first, as the API lists them
 */
export function progressSeries(sessions) {
  const ordered = [...sessions].reverse();
  /** @type {Map<string, Array<[number, number]>>} */
  const byCategory = new Map();
  /** @type {Array<[number, number]>} */
  const overall = [];
  ordered.forEach((s, i) => {
    if (typeof s.overall === 'number') overall.push([i + 1, s.overall]);
    for (const [cat, value] of Object.entries(s.categories || {})) {
      if (typeof value !== 'number') continue;
      if (!byCategory.has(cat)) byCategory.set(cat, []);
      /** @type {Array<[number, number]>} */ (byCategory.get(cat)).push([i + 1, value]);
    }
  });
  const series = [...byCategory.entries()].sort((a, b) => a[0].localeCompare(b[0]))
    .map(([name, points]) => ({ name, points }));
  if (overall.length) series.unshift({ name: 'overall', points: overall, emphasis: true });
  return { ordered, series };
}

/** @param {any[]} sessions */
function renderChart(sessions) {
  const box = /** @type {HTMLElement} */ (document.getElementById('progress-chart'));
  const { ordered, series } = progressSeries(sessions);
  if (!series.length) {
    box.replaceChildren(el('p', { class: 'muted', text: 'Scores appear here once you have answered some questions.' }));
    return;
  }
  box.replaceChildren(lineChart(series, {
    title: 'Score by category across sessions (0-100)', yMin: 0, yMax: 100, width: 960, height: 300,
    xMin: 1, xMax: Math.max(2, ordered.length), xLabel: 'session', legend: true,
    xTicks: ordered.map((s, i) => ({ x: i + 1, label: `#${i + 1}` })),
  }));
}

/** @param {any[]} sessions */
function renderTable(sessions) {
  const body = /** @type {HTMLElement} */ (document.querySelector('#sessions tbody'));
  body.replaceChildren();
  if (!sessions.length) {
    body.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: 'No sessions yet. Start one from the main page.' })));
    return;
  }
  for (const s of sessions) {
    const cats = el('span', { class: 'cat-chips' });
    for (const [cat, v] of Object.entries(s.categories || {})) {
      cats.append(el('span', { class: `cat-chip band-${scoreBand(v)}`, text: `${cat} ${fmtScore(v)}` }));
    }
    body.append(el('tr', { 'data-session-id': s.id },
      el('td', { text: s.created_at ? new Date(s.created_at).toLocaleString() : '—' }),
      el('td', { text: s.mode }),
      el('td', {}, el('span', { class: `status-badge status-${s.status}`, text: s.status })),
      el('td', { class: 'num', text: String(s.question_count ?? 0) }),
      el('td', { class: 'num' }, el('span', { class: `score-chip band-${scoreBand(s.overall)}`, text: fmtScore(s.overall) })),
      el('td', {}, cats),
      el('td', {}, el('a', { href: s.review_url, class: 'btn btn-small btn-secondary', text: 'Review' }))));
  }
}

async function main() {
  if (key) /** @type {HTMLAnchorElement} */ (document.getElementById('home-link')).href = `/?key=${encodeURIComponent(key)}`;
  try {
    const res = await fetch(`/api/sessions${key ? `?key=${encodeURIComponent(key)}` : ''}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(res.status === 403 ? 'This list needs the access key: open /review?key=…' : `The server answered ${res.status}.`);
    const data = await res.json();
    renderChart(data.sessions);
    renderTable(data.sessions);
    document.body.dataset.state = 'ready';
  } catch (err) {
    showBanner(`Could not load the sessions. ${/** @type {Error} */ (err).message || err}`);
    document.body.dataset.state = 'error';
  }
}

main();

// viva rendering helpers: pure DOM builders for messages, score cards and the
// session summary. They never use innerHTML with server text, so whatever the
// server (or an LLM behind it) says is shown as text, never run as markup.

import { AgentKind } from './protocol.js';

/**
 * @typedef {import('./ws.js').ServerMessage} ServerMessage
 */

/**
 * Build an element.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 *   `class` sets className, `text` sets textContent, boolean true sets an empty attribute
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c);
  }
  return node;
}

/**
 * A score for display: rounded number, or an em dash when missing.
 * @param {unknown} v
 * @returns {string}
 */
export function fmtScore(v) {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v)) : '—';
}

/**
 * A metric for display with a fixed number of decimals, or an em dash.
 * @param {unknown} v
 * @param {number} [digits]
 * @returns {string}
 */
export function fmtNumber(v, digits = 0) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/**
 * Colour band of a score, for CSS (good / fair / weak / none).
 * @param {unknown} v
 * @returns {string}
 */
export function scoreBand(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'none';
  if (v >= 75) return 'good';
  if (v >= 50) return 'fair';
  return 'weak';
}

/**
 * Text of a list item that may be a string or an object with some text field.
 * @param {unknown} x
 * @returns {string}
 */
export function toText(x) {
  if (x === null || x === undefined) return '';
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (typeof x === 'object') {
    const o = /** @type {Record<string, unknown>} */ (x);
    for (const k of ['text', 'message', 'point', 'title', 'prompt', 'label', 'id']) {
      if (typeof o[k] === 'string' && o[k]) return /** @type {string} */ (o[k]);
    }
    try { return JSON.stringify(x); } catch { return ''; }
  }
  return '';
}

/**
 * @param {unknown} x
 * @returns {unknown[]}
 */
function asArray(x) {
  if (Array.isArray(x)) return x;
  if (x === null || x === undefined || x === '') return [];
  return [x];
}

/** Human labels of the interviewer's message kinds (`agent` `kind`), one per AgentKind value. */
export const KIND_LABELS = /** @type {Record<string, string>} */ ({
  [AgentKind.GREETING]: 'greeting',
  [AgentKind.QUESTION]: 'question',
  [AgentKind.FOLLOWUP]: 'follow-up',
  [AgentKind.HINT]: 'hint',
  [AgentKind.FEEDBACK]: 'feedback',
  [AgentKind.ACK]: 'ack',
  [AgentKind.CLOSING]: 'closing',
});

/**
 * @param {string} kind an `agent` kind, or a newer one this client does not know
 * @returns {string} its label
 */
export function kindLabel(kind) {
  return Object.hasOwn(KIND_LABELS, kind) ? KIND_LABELS[kind] : kind;
}

/**
 * One interviewer message (`agent`).
 * @param {ServerMessage} msg
 * @param {number | null} numQuestions from `session`, to show "Q2 of 5"
 * @returns {HTMLElement}
 */
export function renderAgentMessage(msg, numQuestions) {
  const kind = typeof msg.kind === 'string' ? msg.kind : 'message';
  const index = typeof msg.index === 'number' ? msg.index : null;
  const qLabel = index !== null ? (numQuestions ? `Q${index} of ${numQuestions}` : `Q${index}`) : null;
  return el('article', {
    class: `msg agent kind-${kind.replace(/[^a-z0-9_-]/gi, '')}`,
    'data-kind': kind,
    'data-utterance-id': msg.utterance_id ?? null,
    'data-question-id': msg.question_id ?? null,
  },
  el('header', { class: 'msg-head' },
    el('span', { class: 'who', text: 'Interviewer' }),
    el('span', { class: `badge badge-kind badge-${kind.replace(/[^a-z0-9_-]/gi, '')}`, text: kindLabel(kind) }),
    qLabel && el('span', { class: 'qnum', text: qLabel }),
    el('span', { class: 'speaking-dot', 'aria-hidden': 'true', title: 'speaking' })),
  el('p', { class: 'msg-text', text: typeof msg.text === 'string' ? msg.text : '' }));
}

/**
 * One candidate turn (a final transcript or a typed answer).
 * @param {{text: string, turnId?: string | number | null, typed?: boolean}} turn
 * @returns {HTMLElement}
 */
export function renderCandidateMessage(turn) {
  return el('article', {
    class: `msg candidate${turn.typed ? ' typed' : ''}`,
    'data-turn-id': turn.turnId ?? null,
  },
  el('header', { class: 'msg-head' },
    el('span', { class: 'who', text: 'You' }),
    turn.typed && el('span', { class: 'badge badge-typed', text: 'typed' }),
    el('span', { class: 'score-chip', hidden: true })),
  el('p', { class: 'msg-text', text: turn.text }));
}

/**
 * A small system note in the conversation (reconnected, session ended, ...).
 * @param {string} text
 * @returns {HTMLElement}
 */
export function renderNote(text) {
  return el('div', { class: 'msg note', role: 'note', text });
}

/**
 * @param {string} label
 * @param {unknown} value
 * @param {string} [extraClass]
 * @returns {HTMLElement}
 */
function scoreTile(label, value, extraClass = '') {
  const pct = typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : 0;
  return el('div', { class: `score-tile band-${scoreBand(value)} ${extraClass}`.trim(), 'data-score': label.toLowerCase() },
    el('span', { class: 'score-label', text: label }),
    el('span', { class: 'score-value', text: fmtScore(value) }),
    el('span', { class: 'score-bar', 'aria-hidden': 'true' }, el('span', { class: 'score-fill', style: `width:${pct}%` })));
}

/**
 * Render a `score` message into the score card container (replacing what was there).
 * @param {HTMLElement} container
 * @param {ServerMessage} score
 * @param {string | null} [questionText] the prompt the answer was for, when known
 */
export function renderScoreCard(container, score, questionText = null) {
  container.replaceChildren();
  container.append(el('h2', { class: 'panel-title', text: 'Last answer' }));
  if (questionText) container.append(el('p', { class: 'score-question', text: questionText }));

  container.append(el('div', { class: 'score-tiles' },
    scoreTile('Overall', score.overall, 'tile-main'),
    scoreTile('Content', score.content),
    scoreTile('Delivery', score.delivery)));

  const points = asArray(score.key_points).filter((p) => p && typeof p === 'object');
  if (points.length) {
    const covered = points.filter((p) => /** @type {any} */ (p).covered);
    const missed = points.filter((p) => !(/** @type {any} */ (p).covered));
    const section = el('div', { class: 'key-points' });
    if (covered.length) {
      const list = el('ul', { class: 'kp-list kp-covered', 'aria-label': 'Key points covered' });
      for (const p of covered) {
        const kp = /** @type {any} */ (p);
        const quotes = asArray(kp.evidence).map(toText).filter(Boolean);
        list.append(el('li', { class: 'kp covered', 'data-kp-id': kp.id ?? null },
          el('span', { class: 'kp-mark', 'aria-hidden': 'true', text: '✓' }),
          el('span', { class: 'kp-body' },
            el('span', { class: 'kp-text', text: toText(kp.text) || toText(kp.id) }),
            ...quotes.map((q) => el('q', { class: 'kp-evidence', text: q })))));
      }
      section.append(el('h3', { class: 'sub-title', text: `Covered (${covered.length})` }), list);
    }
    if (missed.length) {
      const list = el('ul', { class: 'kp-list kp-missed', 'aria-label': 'Key points missed' });
      for (const p of missed) {
        const kp = /** @type {any} */ (p);
        list.append(el('li', { class: 'kp missed', 'data-kp-id': kp.id ?? null },
          el('span', { class: 'kp-mark', 'aria-hidden': 'true', text: '○' }),
          el('span', { class: 'kp-body' }, el('span', { class: 'kp-text', text: toText(kp.text) || toText(kp.id) }))));
      }
      section.append(el('h3', { class: 'sub-title', text: `Missed (${missed.length})` }), list);
    }
    container.append(section);
  }

  const feedback = asArray(score.feedback).map(toText).filter(Boolean);
  if (feedback.length) {
    container.append(el('div', { class: 'feedback' },
      el('h3', { class: 'sub-title', text: 'Feedback' }),
      ...feedback.map((f) => el('p', { text: f }))));
  }

  const m = score.metrics && typeof score.metrics === 'object' ? score.metrics : null;
  if (m) {
    /** @type {[string, string, string][]} */
    const rows = [
      ['wpm', 'Pace', `${fmtNumber(m.wpm)} wpm`],
      ['fillers', 'Fillers', `${fmtNumber(m.filler_count)}${typeof m.fillers_per_min === 'number' ? ` (${fmtNumber(m.fillers_per_min, 1)}/min)` : ''}`],
      ['words', 'Words', fmtNumber(m.words)],
      ['duration', 'Duration', typeof m.duration_s === 'number' ? `${fmtNumber(m.duration_s, 1)} s` : '—'],
      ['pauses', 'Long pauses', fmtNumber(m.long_pauses)],
    ];
    const dl = el('dl', { class: 'metrics' });
    for (const [key, label, value] of rows) {
      dl.append(el('div', { class: 'metric', 'data-metric': key }, el('dt', { text: label }), el('dd', { text: value })));
    }
    container.append(el('h3', { class: 'sub-title', text: 'Delivery' }), dl);
  }
}

/**
 * Render the end-of-session `summary`.
 * @param {HTMLElement} container
 * @param {ServerMessage} summary
 * @param {Map<string, string>} prompts question id -> prompt, for questions the summary names only by id
 */
export function renderSummary(container, summary, prompts) {
  container.replaceChildren();
  container.append(el('div', { class: 'summary-head' },
    el('div', {},
      el('h2', { class: 'panel-title', text: 'Session summary' }),
      summary.session_id ? el('p', { class: 'muted small', text: `Session ${summary.session_id}` }) : null),
    scoreTile('Overall', summary.overall, 'tile-main summary-overall')));

  const questions = asArray(summary.questions);
  if (questions.length) {
    const ol = el('ol', { class: 'summary-questions' });
    questions.forEach((q, i) => {
      const item = /** @type {any} */ (q && typeof q === 'object' ? q : { prompt: toText(q) });
      const qid = item.question_id ?? item.id ?? null;
      const title = (typeof item.prompt === 'string' && item.prompt)
        || (typeof item.text === 'string' && item.text)
        || (qid && prompts.get(String(qid)))
        || (qid ? String(qid) : `Question ${i + 1}`);
      const sub = [];
      if ('content' in item) sub.push(`content ${fmtScore(item.content)}`);
      if ('delivery' in item) sub.push(`delivery ${fmtScore(item.delivery)}`);
      const extra = asArray(item.feedback ?? item.comment).map(toText).filter(Boolean);
      const missed = asArray(item.missed ?? item.missed_points).map(toText).filter(Boolean);
      ol.append(el('li', { class: 'summary-q', 'data-question-id': qid },
        el('div', { class: 'summary-q-main' },
          el('span', { class: 'summary-q-title', text: title }),
          el('span', { class: `score-chip band-${scoreBand(item.overall ?? item.score)}`, text: fmtScore(item.overall ?? item.score) })),
        sub.length ? el('p', { class: 'muted small', text: sub.join(' · ') }) : null,
        ...extra.map((f) => el('p', { class: 'small', text: f })),
        missed.length ? el('p', { class: 'small muted', text: `Missed: ${missed.join('; ')}` }) : null));
    });
    container.append(el('h3', { class: 'sub-title', text: 'Questions' }), ol);
  }

  // Extension field: average overall score per category.
  if (summary.categories && typeof summary.categories === 'object' && !Array.isArray(summary.categories)) {
    const entries = Object.entries(summary.categories).filter(([, v]) => typeof v === 'number');
    if (entries.length) {
      container.append(el('h3', { class: 'sub-title', text: 'By category' }),
        el('ul', { class: 'summary-categories' }, ...entries.map(([cat, v]) => el('li', { 'data-category': cat },
          el('span', { text: cat.replace(/-/g, ' ') }),
          el('span', { class: `score-chip band-${scoreBand(v)}`, text: fmtScore(v) })))));
    }
  }

  const strengths = asArray(summary.strengths).map(toText).filter(Boolean);
  const improvements = asArray(summary.improvements).map(toText).filter(Boolean);
  const cols = el('div', { class: 'summary-cols' });
  cols.append(el('div', { class: 'summary-strengths' },
    el('h3', { class: 'sub-title', text: 'Strengths' }),
    strengths.length ? el('ul', {}, ...strengths.map((s) => el('li', { text: s }))) : el('p', { class: 'muted', text: '—' })));
  cols.append(el('div', { class: 'summary-improvements' },
    el('h3', { class: 'sub-title', text: 'To improve' }),
    improvements.length ? el('ul', {}, ...improvements.map((s) => el('li', { text: s }))) : el('p', { class: 'muted', text: '—' })));
  container.append(cols);

  if (typeof summary.review_url === 'string' && summary.review_url) {
    const href = safeHref(summary.review_url);
    if (href) {
      container.append(el('p', { class: 'review-link' },
        el('a', { href, id: 'review-link', class: 'btn btn-secondary', target: '_blank', rel: 'noopener', text: 'Open the full review ↗' })));
    }
  }
}

/**
 * Only http(s) or same-site relative links: a review_url must never become a
 * javascript: URL.
 * @param {string} url
 * @returns {string | null}
 */
export function safeHref(url) {
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * Where each covered key point's evidence lies in an answer's text, as character ranges
 * (the server quotes a verbatim slice of the transcript, so an exact search finds it;
 * a case-insensitive one is the fallback). Overlapping ranges keep the first.
 * @param {string} text
 * @param {unknown} keyPoints the `key_points` of a `score`
 * @returns {{start: number, end: number, id: string, label: string}[]}
 */
export function evidenceRanges(text, keyPoints) {
  const source = String(text ?? '');
  const lower = source.toLowerCase();
  /** @type {{start: number, end: number, id: string, label: string}[]} */
  const ranges = [];
  for (const kp of asArray(keyPoints)) {
    const k = /** @type {any} */ (kp);
    if (!k || !k.covered) continue;
    const quote = toText(k.evidence).trim();
    if (!quote) continue;
    let at = source.indexOf(quote);
    if (at < 0) at = lower.indexOf(quote.toLowerCase());
    if (at < 0) continue;
    const range = { start: at, end: at + quote.length, id: toText(k.id), label: toText(k.text) };
    if (!ranges.some((r) => range.start < r.end && r.start < range.end)) ranges.push(range);
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/**
 * For each word of a timed transcript, the key point whose evidence it belongs to
 * (null where none): the evidence's words matched as a run of normalised words.
 * @param {Array<{word: string}>} words
 * @param {unknown} keyPoints
 * @returns {({id: string, label: string} | null)[]}
 */
export function evidenceWords(words, keyPoints) {
  const key = (/** @type {unknown} */ w) => String(w ?? '').toLowerCase().replace(/[’]/g, "'").replace(/[^a-z0-9']/g, '');
  const keys = (words || []).map((w) => key(w.word));
  /** @type {({id: string, label: string} | null)[]} */
  const marks = keys.map(() => null);
  for (const kp of asArray(keyPoints)) {
    const k = /** @type {any} */ (kp);
    if (!k || !k.covered) continue;
    const quote = toText(k.evidence).split(/\s+/).map(key).filter(Boolean);
    if (!quote.length) continue;
    for (let i = 0; i + quote.length <= keys.length; i++) {
      if (quote.every((q, j) => keys[i + j] === q) && marks.slice(i, i + quote.length).every((m) => m === null)) {
        for (let j = 0; j < quote.length; j++) marks[i + j] = { id: toText(k.id), label: toText(k.text) };
        break;
      }
    }
  }
  return marks;
}

/**
 * Put an answer's text into `node` with each key point's evidence in a <mark>.
 * @param {HTMLElement} node
 * @param {string} text
 * @param {unknown} keyPoints
 */
export function highlightEvidence(node, text, keyPoints) {
  const ranges = evidenceRanges(text, keyPoints);
  if (!ranges.length) { node.textContent = text; return; }
  node.replaceChildren();
  let at = 0;
  for (const r of ranges) {
    if (r.start > at) node.append(text.slice(at, r.start));
    node.append(el('mark', { class: 'evidence', 'data-kp-id': r.id, title: `Covers: ${r.label}`,
      text: text.slice(r.start, r.end) }));
    at = r.end;
  }
  if (at < text.length) node.append(text.slice(at));
}

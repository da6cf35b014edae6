// viva review page: one stored session, answer by answer. The transcript of each
// spoken answer is built from its word timings: the fillers, hedges, repeats and long
// pauses the server marked on them (marks.js) are drawn, and clicking a word plays the
// recording from that word, with the word being spoken highlighted. Server text is
// only ever set as textContent.

import { el, evidenceWords, fmtNumber, fmtScore, highlightEvidence, kindLabel, scoreBand, toText } from './render.js';
import { barChart, lineChart, paceSeries } from './charts.js';
import { markWords, wordAt } from './marks.js';

/** @typedef {import('./marks.js').MarkedWord} MarkedWord */

/** @param {number} s */
function clock(s) {
  if (!Number.isFinite(s)) return '—';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** @param {unknown} v */
function mean(v) {
  const nums = /** @type {number[]} */ ((Array.isArray(v) ? v : []).filter((x) => typeof x === 'number' && Number.isFinite(x)));
  return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
}

// --------------------------------------------------------------------------- page state

const params = new URLSearchParams(location.search);
/** The credential the page was opened with, passed on to every API call. */
const credential = params.get('token') ? `token=${encodeURIComponent(params.get('token') ?? '')}`
  : params.get('key') ? `key=${encodeURIComponent(params.get('key') ?? '')}` : '';
const sessionId = decodeURIComponent(location.pathname.replace(/\/+$/, '').split('/').pop() || '');

/** @param {string} path */
function withCredential(path) {
  if (!credential) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${credential}`;
}

const review = {
  /** @type {'loading' | 'ready' | 'error'} */
  state: 'loading',
  /** @type {any} */
  session: null,
  /** @type {string | null} turn whose audio is loaded */
  playingTurn: null,
  /** @type {number} */
  highlighted: -1,
  /** @type {{turnId: string, t: number} | null} last word click */
  lastSeek: null,
};
/** For tests and the curious: the page's state. */
/** @type {any} */ (window).vivaReview = review;

/** @type {Map<string, {words: MarkedWord[], nodes: HTMLElement[], url: string, label: string}>} */
const answers = new Map();

// --------------------------------------------------------------------------- audio

const player = /** @type {HTMLAudioElement} */ (document.getElementById('player'));
const playerBar = /** @type {HTMLElement} */ (document.getElementById('player-bar'));
const playerLabel = /** @type {HTMLElement} */ (document.getElementById('player-label'));

/**
 * Play a turn's recording from t seconds.
 * @param {string} turnId
 * @param {number} t
 */
function playFrom(turnId, t) {
  const answer = answers.get(turnId);
  if (!answer) return;
  review.lastSeek = { turnId, t };
  playerBar.hidden = false;
  playerLabel.textContent = answer.label;
  const seek = () => {
    player.currentTime = Math.max(0, t);
    player.play().catch((err) => showBanner(`Could not play the recording: ${err.message || err}`, 'warning'));
  };
  if (review.playingTurn !== turnId) {
    clearHighlight();
    review.playingTurn = turnId;
    player.src = withCredential(answer.url);
    player.addEventListener('loadedmetadata', seek, { once: true });
    player.load();
  } else if (player.readyState >= 1) {
    seek();
  } else {
    player.addEventListener('loadedmetadata', seek, { once: true });
  }
}

function clearHighlight() {
  const answer = review.playingTurn ? answers.get(review.playingTurn) : null;
  if (answer && review.highlighted >= 0) answer.nodes[review.highlighted]?.classList.remove('speaking');
  review.highlighted = -1;
}

function updateHighlight() {
  const answer = review.playingTurn ? answers.get(review.playingTurn) : null;
  if (!answer) return;
  const i = wordAt(answer.words, player.currentTime);
  if (i === review.highlighted) return;
  clearHighlight();
  review.highlighted = i;
  if (i >= 0) answer.nodes[i].classList.add('speaking');
}

let frame = 0;
function tick() {
  updateHighlight();
  frame = player.paused ? 0 : requestAnimationFrame(tick);
}
player.addEventListener('timeupdate', updateHighlight);
player.addEventListener('play', () => { if (!frame) frame = requestAnimationFrame(tick); });
player.addEventListener('seeked', updateHighlight);
player.addEventListener('ended', clearHighlight);
player.addEventListener('error', () => {
  if (review.playingTurn) showBanner('The recording of this answer could not be loaded.', 'warning');
});

// --------------------------------------------------------------------------- rendering

/**
 * @param {string} text
 * @param {'error' | 'warning' | 'info'} [level]
 */
function showBanner(text, level = 'error') {
  const stack = /** @type {HTMLElement} */ (document.getElementById('error-banner'));
  stack.hidden = false;
  stack.append(el('div', { class: `banner banner-${level}`, role: 'alert' },
    el('p', { class: 'banner-text', text })));
}

/**
 * @param {string} label
 * @param {unknown} value
 * @param {string} [extra]
 */
function tile(label, value, extra = '') {
  const pct = typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : 0;
  return el('div', { class: `score-tile band-${scoreBand(value)} ${extra}`.trim(), 'data-score': label.toLowerCase() },
    el('span', { class: 'score-label', text: label }),
    el('span', { class: 'score-value', text: fmtScore(value) }),
    el('span', { class: 'score-bar', 'aria-hidden': 'true' }, el('span', { class: 'score-fill', style: `width:${pct}%` })));
}

/**
 * The transcript of a spoken answer: one button per word, with the server's marks
 * (fillers, hedges, repeats) as classes and its long pauses before the words.
 * @param {any} turn
 * @returns {HTMLElement}
 */
function renderTranscript(turn) {
  const words = markWords(Array.isArray(turn.words) ? turn.words : []);
  const para = el('p', { class: 'transcript' });
  const keyPoints = turn.score ? turn.score.key_points : null;
  if (!words.length) {
    const plain = el('span', { class: 'plain' });
    highlightEvidence(plain, turn.text || '', keyPoints);
    para.append(plain);
    return para;
  }
  const evidence = evidenceWords(words, keyPoints);
  /** @type {HTMLElement[]} */
  const nodes = [];
  words.forEach((w, i) => {
    if (w.pauseBefore !== null) para.append(pauseMark(w.pauseBefore), ' ');
    const covers = evidence[i];
    const cls = ['w', ...w.marks, covers && 'evidence'].filter(Boolean).join(' ');
    const tip = [`${w.start.toFixed(1)} s`, ...w.marks, covers && `covers: ${covers.label}`]
      .filter(Boolean).join(' · ');
    const node = el('button', { type: 'button', class: cls, 'data-i': i, 'data-start': w.start,
      'data-end': w.end, 'data-kp-id': covers ? covers.id : null, title: tip, disabled: !turn.audio_url,
      text: w.word });
    nodes.push(node);
    para.append(node, ' ');
  });
  if (turn.audio_url) {
    answers.set(turn.turn_id, { words, nodes, url: turn.audio_url, label: turn._label || 'Answer' });
    para.addEventListener('click', (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      const word = target.closest('button.w');
      if (!word) return;
      playFrom(turn.turn_id, Number(word.getAttribute('data-start')));
    });
  }
  return para;
}

/** @param {number} secs the long pause the server marked before a word */
function pauseMark(secs) {
  return el('span', { class: 'pause', title: `silence of ${secs.toFixed(1)} s`, 'data-seconds': secs.toFixed(2),
    text: `pause ${secs.toFixed(1)} s` });
}

/**
 * Score, key points, feedback, delivery figures and pace of one answer.
 * @param {any} turn
 * @returns {HTMLElement}
 */
function renderAssessment(turn) {
  const score = turn.score || {};
  const box = el('div', { class: 'assessment' });
  box.append(el('div', { class: 'score-tiles' },
    tile('Overall', score.overall, 'tile-main'), tile('Content', score.content), tile('Delivery', score.delivery)));

  const points = Array.isArray(score.key_points) ? score.key_points : [];
  const covered = points.filter((/** @type {any} */ k) => k && k.covered);
  const missed = points.filter((/** @type {any} */ k) => k && !k.covered);
  if (points.length) {
    const cols = el('div', { class: 'kp-cols' });
    const coveredList = el('ul', { class: 'kp-list kp-covered', 'aria-label': 'Key points covered' });
    for (const k of covered) {
      coveredList.append(el('li', { class: 'kp covered', 'data-kp-id': k.id ?? null },
        el('span', { class: 'kp-mark', 'aria-hidden': 'true', text: '✓' }),
        el('span', { class: 'kp-body' },
          el('span', { class: 'kp-text', text: toText(k.text) || toText(k.id) }),
          k.evidence ? el('q', { class: 'kp-evidence', text: toText(k.evidence) }) : null)));
    }
    const missedList = el('ul', { class: 'kp-list kp-missed', 'aria-label': 'Key points missed' });
    for (const k of missed) {
      missedList.append(el('li', { class: 'kp missed', 'data-kp-id': k.id ?? null },
        el('span', { class: 'kp-mark', 'aria-hidden': 'true', text: '○' }),
        el('span', { class: 'kp-body' }, el('span', { class: 'kp-text', text: toText(k.text) || toText(k.id) }))));
    }
    cols.append(
      el('div', {}, el('h4', { class: 'sub-title', text: `Covered (${covered.length})` }),
        covered.length ? coveredList : el('p', { class: 'muted small', text: 'None yet.' })),
      el('div', {}, el('h4', { class: 'sub-title', text: `Missed (${missed.length})` }),
        missed.length ? missedList : el('p', { class: 'muted small', text: 'Nothing missed.' })));
    box.append(cols);
  }

  const feedback = score.feedback || turn.feedback;
  if (feedback) {
    box.append(el('div', { class: 'feedback' }, el('h4', { class: 'sub-title', text: 'Feedback' }),
      el('p', { text: toText(feedback) })));
  }

  const metrics = score.metrics || turn.metrics;
  if (metrics && typeof metrics === 'object') {
    const dl = el('dl', { class: 'metrics' });
    const rows = [['Pace', `${fmtNumber(metrics.wpm)} wpm`], ['Words', fmtNumber(metrics.words)],
      ['Duration', `${fmtNumber(metrics.duration_s, 1)} s`], ['Fillers', fmtNumber(metrics.filler_count)],
      ['Long pauses', fmtNumber(metrics.long_pauses)]];
    for (const [label, value] of rows) {
      dl.append(el('div', { class: 'metric' }, el('dt', { text: label }), el('dd', { text: value })));
    }
    box.append(dl);
  }

  const pace = paceSeries(Array.isArray(turn.words) ? turn.words : []);
  if (pace.length >= 2) {
    const chart = el('figure', { class: 'chart-box pace-chart' });
    chart.append(lineChart([{ name: 'words per minute', points: pace }], {
      title: 'Pace through this answer (words per minute)', height: 170, yMin: 0, yLabel: 'wpm',
      xLabel: 'seconds into the answer', xFormat: (t) => `${t}s`, band: [120, 160],
      bandLabel: 'comfortable', legend: false,
    }));
    chart.append(el('figcaption', { class: 'muted small', text: 'Pace through this answer, words per minute.' }));
    box.append(chart);
  }
  return box;
}

/**
 * @param {any} question enriched question (answer, hint, key_points)
 * @param {number} total
 * @param {number | null} best
 */
function renderQuestionHead(question, total, best) {
  const head = el('section', { class: 'question-head', 'data-question-id': question.question_id,
    'aria-label': `Question ${question.index}` });
  head.append(el('div', { class: 'qh-top' },
    el('span', { class: 'qnum', text: `Q${question.index}${total ? ` of ${total}` : ''}` }),
    el('span', { class: 'badge', text: question.category || '' }),
    question.difficulty ? el('span', { class: 'badge', text: question.difficulty }) : null,
    el('span', { class: `score-chip band-${scoreBand(best)}`, title: 'best answer', text: fmtScore(best) })));
  head.append(el('p', { class: 'qh-prompt', text: question.prompt || '' }));
  if (question.answer || (question.key_points || []).length) {
    const reveal = el('div', { class: 'model-answer', id: `model-${question.index}`, hidden: true });
    if (question.answer) {
      reveal.append(el('h4', { class: 'sub-title', text: 'Model answer' }), el('p', { text: question.answer }));
    }
    if ((question.key_points || []).length) {
      const list = el('ul', { class: 'model-points' });
      for (const k of question.key_points) list.append(el('li', { text: toText(k.text ?? k) }));
      reveal.append(el('h4', { class: 'sub-title', text: 'Key points' }), list);
    }
    if (question.hint) reveal.append(el('p', { class: 'muted small', text: `Hint: ${question.hint}` }));
    const button = el('button', { type: 'button', class: 'btn btn-small btn-secondary reveal-btn',
      'aria-expanded': 'false', 'aria-controls': `model-${question.index}`, text: 'Show model answer' });
    button.addEventListener('click', () => {
      const open = reveal.hidden;
      reveal.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      button.textContent = open ? 'Hide model answer' : 'Show model answer';
    });
    head.append(button, reveal);
  }
  return head;
}

/**
 * @param {any} turn
 * @param {any} question
 */
function renderCandidate(turn, question) {
  const typed = !Array.isArray(turn.words) || !turn.words.length;
  turn._label = question ? `Your answer to Q${question.index}` : 'Your answer';
  const card = el('article', { class: `msg candidate answer${typed ? ' typed' : ''}`, 'data-turn-id': turn.turn_id });
  const head = el('header', { class: 'msg-head' },
    el('span', { class: 'who', text: 'You' }),
    el('span', { class: 'badge', text: typed ? 'typed' : 'spoken' }),
    turn.score ? el('span', { class: `score-chip band-${scoreBand(turn.score.overall)}`, text: fmtScore(turn.score.overall) }) : null);
  card.append(head, renderTranscript(turn));
  if (turn.audio_url) {
    const play = el('button', { type: 'button', class: 'btn btn-small btn-ghost play-btn', text: '▶ Play answer' });
    play.addEventListener('click', () => playFrom(turn.turn_id, 0));
    head.append(play);
  }
  if (turn.score) card.append(renderAssessment(turn));
  return card;
}

/** @param {any} turn */
function renderInterviewer(turn) {
  const kind = typeof turn.kind === 'string' ? turn.kind.replace(/[^a-z0-9_-]/gi, '') : 'message';
  return el('article', { class: `msg agent kind-${kind}`, 'data-kind': kind, 'data-turn-id': turn.turn_id },
    el('header', { class: 'msg-head' }, el('span', { class: 'who', text: 'Interviewer' }),
      el('span', { class: `badge badge-${kind}`, text: kindLabel(kind) })),
    el('p', { class: 'msg-text', text: turn.text || '' }));
}

/**
 * Each question's best scored answer (the rule the live summary uses).
 * @param {any} session
 * @returns {Map<string, any>}
 */
function bestScores(session) {
  const best = new Map();
  for (const t of session.turns || []) {
    if (t.speaker !== 'candidate' || !t.score || typeof t.score.overall !== 'number') continue;
    const prev = best.get(t.question_id);
    if (!prev || t.score.overall > prev.overall) best.set(t.question_id, t.score);
  }
  return best;
}

/** @param {any} session */
function renderOverview(session) {
  const best = bestScores(session);
  const summary = session.summary || {};
  const scores = [...best.values()];
  const overall = typeof summary.overall === 'number' ? summary.overall : mean(scores.map((s) => s.overall));
  const when = session.created_at ? new Date(session.created_at).toLocaleString() : '';
  const meta = [session.mode === 'drill' ? 'Drill' : 'Interview', `${(session.questions || []).length} questions`, when]
    .filter(Boolean).join(' · ');
  /** @type {HTMLElement} */ (document.getElementById('session-meta')).replaceChildren(
    el('span', { text: meta }), ' ',
    el('span', { class: `status-badge status-${session.status}`, text: session.status }));
  /** @type {HTMLElement} */ (document.getElementById('overview-scores')).replaceChildren(
    tile('Overall', overall, 'tile-main'),
    tile('Content', mean(scores.map((s) => s.content))),
    tile('Delivery', mean(scores.map((s) => s.delivery))));

  const lists = /** @type {HTMLElement} */ (document.getElementById('summary-lists'));
  lists.replaceChildren();
  for (const [title, items] of [['Strengths', summary.strengths], ['To improve', summary.improvements]]) {
    if (!Array.isArray(items) || !items.length) continue;
    lists.append(el('div', {}, el('h3', { class: 'sub-title', text: title }),
      el('ul', {}, ...items.map((/** @type {unknown} */ s) => el('li', { text: toText(s) })))));
  }
  lists.hidden = !lists.children.length;

  const chart = /** @type {HTMLElement} */ (document.getElementById('score-chart'));
  const questions = session.questions || [];
  chart.replaceChildren(questions.length
    ? barChart(questions.map((/** @type {any} */ q) => ({ label: `Q${q.index}`, value: best.get(q.question_id)?.overall ?? null,
      title: q.prompt })), { title: 'Score per question (best answer, 0-100)', height: 190 })
    : el('p', { class: 'muted', text: 'No questions were asked.' }));
}

/** @param {any} session */
function renderTimeline(session) {
  const timeline = /** @type {HTMLElement} */ (document.getElementById('timeline'));
  timeline.replaceChildren();
  answers.clear();
  const questions = new Map((session.questions || []).map((/** @type {any} */ q) => [q.question_id, q]));
  const total = (session.questions || []).length;
  const best = bestScores(session);
  const shown = new Set();
  for (const turn of session.turns || []) {
    const question = turn.question_id ? questions.get(turn.question_id) : null;
    if (question && !shown.has(turn.question_id)) {
      shown.add(turn.question_id);
      timeline.append(renderQuestionHead(question, total, best.get(turn.question_id)?.overall ?? null));
    }
    timeline.append(turn.speaker === 'candidate' ? renderCandidate(turn, question) : renderInterviewer(turn));
  }
  // Questions asked but never reached in the turns (an interrupted session).
  for (const q of session.questions || []) {
    if (!shown.has(q.question_id)) timeline.append(renderQuestionHead(q, total, null));
  }
  if (!timeline.children.length) {
    timeline.append(el('p', { class: 'empty-state', text: 'Nothing was said in this session.' }));
  }
}

function setupLinks() {
  const base = `/api/sessions/${encodeURIComponent(sessionId)}/export`;
  /** @type {HTMLAnchorElement} */ (document.getElementById('export-md')).href = withCredential(`${base}?format=md`);
  /** @type {HTMLAnchorElement} */ (document.getElementById('export-json')).href = withCredential(`${base}?format=json`);
  const key = params.get('key');
  /** @type {HTMLAnchorElement} */ (document.getElementById('sessions-link')).href =
    key ? `/review?key=${encodeURIComponent(key)}` : '/review';
}

async function main() {
  document.body.dataset.state = 'loading';
  setupLinks();
  try {
    const res = await fetch(withCredential(`/api/sessions/${encodeURIComponent(sessionId)}`), { cache: 'no-store' });
    if (!res.ok) throw new Error(res.status === 404 ? 'This session does not exist, or the link is missing its token.' : `The server answered ${res.status}.`);
    const session = await res.json();
    review.session = session;
    document.title = `viva · review ${session.id}`;
    renderOverview(session);
    renderTimeline(session);
    review.state = 'ready';
  } catch (err) {
    review.state = 'error';
    showBanner(`Could not load the session. ${/** @type {Error} */ (err).message || err}`);
    /** @type {HTMLElement} */ (document.getElementById('session-meta')).textContent = 'Not available.';
  }
  document.body.dataset.state = review.state;
}

main();

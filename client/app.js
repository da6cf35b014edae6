// viva browser client: UI state and wiring.
//
// ws.js speaks the protocol, audio.js captures and plays, render.js builds DOM;
// this module holds the session state machine and connects them to the page.
//
// For automated tests the live state is mirrored on window.viva (see VivaDebug).

import { buildWsUrl, VivaConnection } from './ws.js';
import { MicCapture, MicError, Player, CAPTURE_RATE } from './audio.js';
import { TalkHold, isTalkMode, isTextEntry, readTalkMode, releaseSilence, storeTalkMode } from './talk.js';
import {
  AgentKind, Command, Difficulty, ErrorCode, MAX_TEXT_CHARS, MESSAGES, Mode, PROTOCOL_VERSION, ServerType, VadState,
} from './protocol.js';
import {
  el, renderAgentMessage, renderCandidateMessage, renderNote, renderScoreCard, renderSummary, fmtScore, scoreBand,
  highlightEvidence,
} from './render.js';

/**
 * idle: nothing running; connecting: socket opening / waiting for `session`;
 * listening: the candidate's turn; speaking: interviewer audio playing;
 * thinking: waiting for the interviewer after an answer; ending: `stop` sent,
 * waiting for `summary`; ended: session over; error: session failed.
 * @typedef {'idle' | 'connecting' | 'listening' | 'speaking' | 'thinking' | 'ending' | 'ended' | 'error'} AppState
 */

/**
 * @typedef {import('./ws.js').StartOptions} StartOptions
 * @typedef {import('./ws.js').ServerMessage} ServerMessage
 * @typedef {import('./ws.js').CloseInfo} CloseInfo
 * @typedef {import('./audio.js').UtteranceResult} UtteranceResult
 * @typedef {import('./talk.js').TalkMode} TalkMode
 */

/**
 * What window.viva exposes for tests and debugging.
 * @typedef {Object} VivaDebug
 * @property {AppState} state
 * @property {ServerMessage[]} messages      every parsed server JSON message, in order
 * @property {number} audioFramesReceived    binary frames received from the server
 * @property {number} audioSecondsScheduled  seconds of interviewer audio scheduled for playback
 * @property {number} utterancesPlayed       utterances whose audio played to the end
 * @property {number} utterancesInterrupted  utterances cut short (barge-in or interrupt)
 * @property {number} audioFramesSent        microphone frames sent
 * @property {number} audioFramesDropped     microphone frames dropped while the socket was backed up
 * @property {number} micSeconds             seconds of microphone audio captured, sent or not
 * @property {TalkMode} talkMode             'handsfree' or 'ptt' (push to talk)
 * @property {boolean} talking               push to talk: the talk control is held
 * @property {'off' | 'requesting' | 'on' | 'denied' | 'unavailable'} mic
 * @property {'speech' | 'silence'} vad      the server's last vad state (a VadState value)
 * @property {string | null} sessionId
 * @property {number | null} numQuestions
 * @property {ServerMessage | null} lastScore
 * @property {ServerMessage | null} summary
 * @property {{code: string, message: string, fatal: boolean}[]} errors  errors shown to the user
 * @property {(opts?: {resume?: boolean}) => Promise<void>} start
 * @property {() => void} stop
 * @property {(text: string) => boolean} sendText
 * @property {(name: string) => boolean} sendCommand
 * @property {() => boolean} endTurn
 * @property {() => boolean} interrupt
 * @property {(mode: TalkMode) => void} setTalkMode
 */

/**
 * One websocket session.
 * @typedef {Object} Session
 * @property {VivaConnection} conn
 * @property {StartOptions} options
 * @property {boolean} resumed
 * @property {string | null} sessionId
 * @property {string | null} token
 * @property {boolean} gotSession
 * @property {boolean} gotSummary
 * @property {boolean} stopRequested
 * @property {boolean} fatal
 * @property {ReturnType<typeof setTimeout> | null} stopTimer
 */

// ---------------------------------------------------------------------------
// DOM

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return /** @type {T} */ (node);
}

const ui = {
  setup: /** @type {HTMLFormElement} */ (byId('setup')),
  setupFields: /** @type {HTMLFieldSetElement} */ (byId('setup-fields')),
  categoryList: byId('category-list'),
  difficulty: /** @type {HTMLSelectElement} */ (byId('difficulty')),
  numQuestions: /** @type {HTMLInputElement} */ (byId('num-questions')),
  maxFollowUps: /** @type {HTMLInputElement} */ (byId('max-follow-ups')),
  language: /** @type {HTMLSelectElement} */ (byId('language')),
  tts: /** @type {HTMLInputElement} */ (byId('tts')),
  modeHint: byId('mode-hint'),
  fixedQuestions: byId('fixed-questions'),
  startBtn: /** @type {HTMLButtonElement} */ (byId('start-btn')),
  stopBtn: /** @type {HTMLButtonElement} */ (byId('stop-btn')),
  status: byId('status'),
  vad: byId('vad'),
  vadLabel: byId('vad-label'),
  levelFill: byId('level-fill'),
  progress: byId('progress'),
  interruptBtn: /** @type {HTMLButtonElement} */ (byId('interrupt-btn')),
  conversation: byId('conversation'),
  partial: byId('partial'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  textInput: /** @type {HTMLTextAreaElement} */ (byId('text-input')),
  sendBtn: /** @type {HTMLButtonElement} */ (byId('send-btn')),
  doneBtn: /** @type {HTMLButtonElement} */ (byId('done-btn')),
  talkRadios: /** @type {HTMLInputElement[]} */ ([...document.querySelectorAll('input[name="talk"]')]),
  talkHint: byId('talk-hint'),
  talkBtn: /** @type {HTMLButtonElement} */ (byId('talk-btn')),
  talkHelp: /** @type {HTMLElement[]} */ ([...document.querySelectorAll('#kbd-help [data-talk]')]),
  commandBtns: /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll('button[data-command]')]),
  scorecard: byId('scorecard'),
  summary: byId('summary'),
  banners: byId('error-banner'),
  health: byId('server-health'),
};

// ---------------------------------------------------------------------------
// State

const params = new URLSearchParams(window.location.search);

/** @returns {Storage | null} localStorage, or null where the browser refuses it */
function localStore() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** @type {VivaDebug} */
const viva = {
  state: 'idle',
  messages: [],
  audioFramesReceived: 0,
  audioSecondsScheduled: 0,
  utterancesPlayed: 0,
  utterancesInterrupted: 0,
  audioFramesSent: 0,
  audioFramesDropped: 0,
  micSeconds: 0,
  talkMode: readTalkMode(localStore()),
  talking: false,
  mic: 'off',
  vad: VadState.SILENCE,
  sessionId: null,
  numQuestions: null,
  lastScore: null,
  summary: null,
  errors: [],
  start: (opts) => startSession(opts),
  stop: () => stopSession(),
  sendText: (text) => sendText(text),
  sendCommand: (name) => sendCommand(name),
  endTurn: () => endTurn(),
  interrupt: () => interrupt(),
  setTalkMode: (mode) => setTalkMode(mode),
};
/** @type {any} */ (window).viva = viva;

/** @type {Session | null} the session in progress (socket not yet closed) */
let session = null;
/** Last session that got a `session` message, for resume after a lost connection. */
/** @type {{sessionId: string, token: string, options: StartOptions} | null} */
let lastSession = null;
/** @type {AudioContext | null} */ let audioCtx = null;
/** @type {Player | null} */ let player = null;
/** @type {MicCapture | null} */ let mic = null;
/** Latest microphone RMS, drawn by the meter loop. */
let micLevel = 0;
/** Push to talk: which of Space / the talk button hold the turn open. */
const talkHold = new TalkHold();
/** question id -> prompt text, from /api/questions and from `agent` questions */
const prompts = /** @type {Map<string, string>} */ (new Map());
/** A typed answer shown at once; a later `transcript` final with the same text adopts it instead of duplicating it. */
/** @type {{text: string, node: HTMLElement} | null} */
let pendingTyped = null;
/** Categories requested by URL before the list loaded (or when it fails to load). */
/** @type {string[]} */
let urlCategories = [];
/** @type {string[]} */
let urlQuestionIds = [];

// ---------------------------------------------------------------------------
// Status line and controls

const STATUS_TEXT = /** @type {Record<AppState, string>} */ ({
  idle: 'Ready when you are. Press Start.',
  connecting: 'Connecting…',
  listening: 'Listening',
  speaking: 'Interviewer speaking. Press Space or Esc to interrupt.',
  thinking: 'Thinking…',
  ending: 'Wrapping up…',
  ended: 'Session ended',
  error: 'Error',
});

/** @type {string} */ let statusDetail = '';

/**
 * @param {AppState} state
 * @param {string} [detail] extra words for the status line (error text)
 */
function setState(state, detail = '') {
  viva.state = state;
  statusDetail = detail;
  document.body.dataset.state = state;
  renderStatus();
  updateControls();
}

function renderStatus() {
  const state = viva.state;
  let text = STATUS_TEXT[state];
  if (state === 'listening') {
    // The vad state is shown beside the meter, not here: this line is a live
    // region, and announcing every pause in the candidate's speech would be noise.
    // Push to talk: the held state shows on the talk button itself, not here, for the
    // same reason (every press announced would be noise).
    if (viva.mic === 'on') {
      text = viva.talkMode === 'ptt' ? 'Your turn: hold Space or the talk button to answer, or type.'
        : 'Listening: answer out loud, or type.';
    }
    else if (viva.mic === 'requesting') text = 'Your turn. Waiting for microphone permission…';
    else text = 'Your turn: type your answer below.';
  }
  if (statusDetail) text = state === 'error' ? `Error: ${statusDetail}` : `${text} ${statusDetail}`;
  if (ui.status.textContent !== text) ui.status.textContent = text;
  ui.status.dataset.state = state;
}

function isLive() {
  return !!session && session.conn.live && !session.stopRequested && !session.fatal;
}

function updateControls() {
  const live = isLive();
  const active = !!session;
  ui.startBtn.hidden = active;
  ui.stopBtn.hidden = !active;
  ui.stopBtn.disabled = !active || viva.state === 'ending';
  ui.setupFields.disabled = active;
  ui.textInput.disabled = !live;
  ui.sendBtn.disabled = !live || ui.textInput.value.trim() === '';
  ui.doneBtn.disabled = !live;
  renderTalk();
  for (const b of ui.commandBtns) b.disabled = !live;
  ui.interruptBtn.disabled = !(live && viva.state === 'speaking');
  const mode = currentMode();
  ui.startBtn.textContent = mode === Mode.DRILL ? 'Start drill' : 'Start interview';
  ui.numQuestions.disabled = mode === Mode.DRILL;
  ui.modeHint.textContent = mode === Mode.DRILL
    ? 'An open-ended loop of questions, weak topics first, until you stop.'
    : 'A mock interview with follow-ups and a closing summary.';
}

function renderVad() {
  ui.vad.dataset.vad = viva.vad;
  ui.vad.dataset.mic = viva.mic;
  const label = viva.mic === 'on'
    ? (viva.talkMode === 'ptt' && !viva.talking ? 'mic ready · hold to talk'
      : viva.vad === VadState.SPEECH ? 'voice detected' : 'mic on · silence')
    : viva.mic === 'requesting' ? 'mic: asking…'
      : viva.mic === 'denied' ? 'mic blocked: typing'
        : viva.mic === 'unavailable' ? 'no mic: typing' : 'mic off';
  if (ui.vadLabel.textContent !== label) ui.vadLabel.textContent = label;
  renderTalk();
}

const TALK_HINT = /** @type {Record<TalkMode, string>} */ ({
  handsfree: 'The microphone stays open; a pause ends your answer.',
  ptt: 'Hold Space or the talk button while you answer; letting go sends it.',
});

/** The talk button, the mode's hint and help, and the hands-free "Done answering". */
function renderTalk() {
  const ptt = viva.talkMode === 'ptt';
  ui.talkBtn.hidden = !ptt;
  ui.doneBtn.hidden = ptt; // the release is "done" in push to talk
  ui.talkBtn.disabled = !(ptt && isLive() && viva.mic === 'on');
  ui.talkBtn.setAttribute('aria-pressed', viva.talking ? 'true' : 'false');
  ui.talkBtn.classList.toggle('held', viva.talking);
  const label = viva.talking ? 'Listening… release to send' : 'Hold to talk';
  if (ui.talkBtn.textContent !== label) ui.talkBtn.textContent = label;
  for (const radio of ui.talkRadios) radio.checked = radio.value === viva.talkMode;
  if (ui.talkHint.textContent !== TALK_HINT[viva.talkMode]) ui.talkHint.textContent = TALK_HINT[viva.talkMode];
  for (const node of ui.talkHelp) node.hidden = node.dataset.talk !== viva.talkMode;
  document.body.dataset.talk = viva.talkMode;
}

/** Level meter: drawn once per animation frame rather than once per audio frame. */
let meterShown = 0;
function meterLoop() {
  // Fast attack, slow release: readable without flicker.
  const db = micLevel > 0 ? 20 * Math.log10(micLevel) : -100;
  const target = viva.mic === 'on' ? Math.max(0, Math.min(1, (db + 60) / 55)) : 0;
  meterShown = target > meterShown ? target : meterShown * 0.9 + target * 0.1;
  ui.levelFill.style.transform = `scaleX(${meterShown.toFixed(3)})`;
  requestAnimationFrame(meterLoop);
}

// ---------------------------------------------------------------------------
// Banners (errors and notices)

/**
 * @typedef {Object} BannerAction
 * @property {string} label
 * @property {string} [id]
 * @property {() => void} onClick
 */

/**
 * Show a dismissible banner; one per code (a newer one replaces it).
 * @param {{code: string, message: string, fatal?: boolean, level?: 'error' | 'warning' | 'info', actions?: BannerAction[], dismissible?: boolean}} b
 */
function showBanner(b) {
  dismissBanner(b.code);
  const level = b.level || (b.fatal ? 'error' : 'warning');
  const node = el('div', { class: `banner banner-${level}`, role: 'alert', 'data-code': b.code, 'data-fatal': b.fatal ? 'true' : 'false' },
    el('p', { class: 'banner-text', text: b.message }));
  const actions = el('div', { class: 'banner-actions' });
  for (const a of b.actions || []) {
    const btn = el('button', { type: 'button', class: 'btn btn-small', id: a.id || null, text: a.label });
    btn.addEventListener('click', () => a.onClick());
    actions.append(btn);
  }
  if (b.dismissible !== false) {
    const close = el('button', { type: 'button', class: 'btn btn-small btn-ghost banner-dismiss', 'aria-label': 'Dismiss', text: '✕' });
    close.addEventListener('click', () => dismissBanner(b.code));
    actions.append(close);
  }
  node.append(actions);
  ui.banners.append(node);
  ui.banners.hidden = false;
  if (level !== 'info') viva.errors.push({ code: b.code, message: b.message, fatal: !!b.fatal });
}

/** @param {string} code */
function dismissBanner(code) {
  for (const n of [...ui.banners.querySelectorAll('.banner')]) {
    if (/** @type {HTMLElement} */ (n).dataset.code === code) n.remove();
  }
  ui.banners.hidden = ui.banners.childElementCount === 0;
}

// ---------------------------------------------------------------------------
// Setup

/** The `start` fields' defaults, allowed values and bounds (from the server's models). */
const START = MESSAGES.client.start;

/** @returns {'interview' | 'drill'} */
function currentMode() {
  const checked = /** @type {HTMLInputElement | null} */ (ui.setup.querySelector('input[name="mode"]:checked'));
  return checked && checked.value === Mode.DRILL ? Mode.DRILL : Mode.INTERVIEW;
}

/**
 * A bounded integer field of `start` (num_questions, max_follow_ups) from a form or URL value.
 * @param {'num_questions' | 'max_follow_ups'} field
 * @param {string} value
 * @returns {number}
 */
function startInt(field, value) {
  const [lo, hi] = START.ranges[field];
  return clampInt(value, lo, hi, START.defaults[field]);
}

/**
 * @param {string} value
 * @param {number} lo
 * @param {number} hi
 * @param {number} fallback
 * @returns {number}
 */
function clampInt(value, lo, hi, fallback) {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? Math.max(lo, Math.min(hi, n)) : fallback;
}

/** @returns {StartOptions} the `start` fields from the setup form */
function readSetup() {
  const mode = currentMode();
  /** @type {StartOptions} */
  const opts = {
    mode,
    max_follow_ups: startInt('max_follow_ups', ui.maxFollowUps.value),
    sample_rate: CAPTURE_RATE,
    language: ui.language.value || START.defaults.language,
    tts: ui.tts.checked,
    // Push to talk: the release ends the turn, not a pause while the key is held.
    turn_end: viva.talkMode === 'ptt' ? 'client' : 'auto',
  };
  if (mode === Mode.INTERVIEW) opts.num_questions = startInt('num_questions', ui.numQuestions.value);
  const boxes = /** @type {HTMLInputElement[]} */ ([...ui.categoryList.querySelectorAll('input[type="checkbox"]')]);
  const cats = boxes.length ? boxes.filter((b) => b.checked).map((b) => b.value) : urlCategories;
  if (cats.length) opts.categories = cats;
  const diff = ui.difficulty.value;
  if (isDifficulty(diff)) opts.difficulty = diff;
  if (urlQuestionIds.length) opts.question_ids = urlQuestionIds;
  return opts;
}

/**
 * @param {string | null} value
 * @returns {value is 'easy' | 'medium' | 'hard'}
 */
function isDifficulty(value) {
  return Object.values(Difficulty).some((d) => d === value);
}

/** URL parameters preset the form, so links and tests can pick a session without clicks. */
function applyUrlParams() {
  const mode = params.get('mode');
  if (mode === Mode.DRILL || mode === Mode.INTERVIEW) {
    const radio = /** @type {HTMLInputElement | null} */ (ui.setup.querySelector(`input[name="mode"][value="${mode}"]`));
    if (radio) radio.checked = true;
  }
  const diff = params.get('difficulty');
  if (diff === 'any' || isDifficulty(diff)) ui.difficulty.value = /** @type {string} */ (diff);
  const nq = params.get('num_questions');
  if (nq) ui.numQuestions.value = String(startInt('num_questions', nq));
  const mf = params.get('max_follow_ups');
  if (mf) ui.maxFollowUps.value = String(startInt('max_follow_ups', mf));
  const lang = params.get('language');
  if (lang && [...ui.language.options].some((o) => o.value === lang)) ui.language.value = lang;
  const tts = params.get('tts');
  if (tts !== null) ui.tts.checked = !['0', 'false', 'no', 'off'].includes(tts.toLowerCase());
  const split = (/** @type {string | null} */ s) => (s || '').split(',').map((x) => x.trim()).filter(Boolean);
  urlCategories = split(params.get('categories'));
  urlQuestionIds = split(params.get('question_ids'));
  if (urlQuestionIds.length) {
    ui.fixedQuestions.hidden = false;
    ui.fixedQuestions.textContent = `Fixed questions from the link: ${urlQuestionIds.join(', ')}`;
  }
}

/** Query string carrying the access key, for the HTTP API. */
function keyQuery() {
  const key = params.get('key');
  return key ? `?key=${encodeURIComponent(key)}` : '';
}

/** Fill the category chips from the question bank; on failure, no filter. */
async function loadCategories() {
  try {
    const res = await fetch(`/api/questions${keyQuery()}`, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const questions = Array.isArray(data.questions) ? data.questions : [];
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const q of questions) {
      if (q && typeof q.id === 'string' && typeof q.prompt === 'string') prompts.set(q.id, q.prompt);
      if (q && typeof q.category === 'string') counts.set(q.category, (counts.get(q.category) || 0) + 1);
    }
    /** @type {string[]} */
    const cats = Array.isArray(data.categories) ? data.categories.filter((c) => typeof c === 'string') : [...counts.keys()];
    ui.categoryList.replaceChildren();
    if (!cats.length) {
      ui.categoryList.append(el('span', { class: 'muted small', text: 'All categories' }));
    }
    for (const cat of cats) {
      const id = `cat-${cat.replace(/[^a-z0-9_-]/gi, '-')}`;
      const box = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', id, name: 'categories', value: cat }));
      box.checked = urlCategories.includes(cat);
      const n = counts.get(cat);
      ui.categoryList.append(el('label', { class: 'chip', for: id }, box,
        el('span', { text: cat.replace(/-/g, ' ') }),
        n ? el('span', { class: 'chip-count', text: String(n), 'aria-label': `${n} questions` }) : null));
    }
  } catch (err) {
    ui.categoryList.replaceChildren(el('span', { class: 'muted small', text: 'Category list unavailable: all categories will be used.' }));
    console.warn('viva: /api/questions failed', err);
  } finally {
    ui.categoryList.removeAttribute('aria-busy');
  }
}

async function checkHealth() {
  try {
    const res = await fetch('/healthz', { headers: { Accept: 'application/json' } });
    const data = res.ok ? await res.json() : null;
    const ok = !!data && data.status === 'ok';
    ui.health.dataset.health = ok ? 'ok' : 'bad';
    ui.health.textContent = ok ? 'server ready' : 'server not ready';
  } catch {
    ui.health.dataset.health = 'bad';
    ui.health.textContent = 'server unreachable';
  }
}

// ---------------------------------------------------------------------------
// Audio

/** Create (once) and resume the shared AudioContext; flag it if autoplay keeps it suspended. */
function ensureAudio() {
  if (!audioCtx) {
    try {
      audioCtx = new AudioContext({ latencyHint: 'interactive' });
    } catch (err) {
      showBanner({ code: 'no_audio', level: 'warning', message: 'This browser cannot play or capture audio here; you can still read and type.' });
      return;
    }
    player = new Player(audioCtx, {
      leadTime: 0.05,
      onScheduled: (sec) => { viva.audioSecondsScheduled += sec; },
      onUtteranceDone: onUtteranceDone,
    });
    audioCtx.addEventListener('statechange', () => {
      if (audioCtx && audioCtx.state === 'running') dismissBanner('autoplay');
    });
  }
  const ctx = audioCtx;
  // resume() may stay pending forever while autoplay is blocked; check shortly after.
  ctx.resume().catch(() => {});
  setTimeout(() => {
    if (ctx.state !== 'running' && session) {
      showBanner({
        code: 'autoplay', level: 'info',
        message: 'The browser is holding back sound until you interact with the page.',
        actions: [{ label: 'Enable sound', id: 'enable-sound-btn', onClick: () => { ctx.resume().catch(() => {}); } }],
      });
    }
  }, 600);
}

/** Resume audio on the first gesture, in case it started suspended (autostart). */
function unlockAudioOnGesture() {
  const unlock = () => { if (audioCtx && audioCtx.state !== 'running') audioCtx.resume().catch(() => {}); };
  window.addEventListener('pointerdown', unlock, { capture: true });
  window.addEventListener('keydown', unlock, { capture: true });
}

async function startMic() {
  if (mic || !audioCtx) {
    if (!audioCtx) { viva.mic = 'unavailable'; renderVad(); renderStatus(); }
    return;
  }
  viva.mic = 'requesting';
  renderVad();
  renderStatus();
  const capture = new MicCapture(audioCtx, {
    onFrame: onMicFrame,
    onEnded: () => {
      letGo(); // what was said up to the unplugging is still an answer
      stopMic();
      viva.mic = 'unavailable';
      renderVad();
      renderStatus();
      showBanner({ code: 'mic_unavailable', message: 'The microphone was disconnected. You can type your answers below.', actions: micActions() });
    },
  });
  mic = capture;
  try {
    await capture.start();
    if (mic !== capture) return; // session ended meanwhile
    viva.mic = 'on';
    dismissBanner('mic_unavailable');
    updateControls(); // the talk button needs the microphone
  } catch (err) {
    if (mic === capture) mic = null;
    const e = err instanceof MicError ? err : new MicError('error', String(err));
    viva.mic = e.kind === 'denied' ? 'denied' : 'unavailable';
    showBanner({
      code: 'mic_unavailable',
      message: `${e.message} You can still take the interview by typing your answers.`,
      actions: micActions(),
    });
    if (isLive()) ui.textInput.focus();
  }
  renderVad();
  renderStatus();
}

/** @returns {BannerAction[]} */
function micActions() {
  return [
    { label: 'Type instead', id: 'type-instead-btn', onClick: () => { dismissBanner('mic_unavailable'); ui.textInput.focus(); } },
    { label: 'Try the mic again', id: 'retry-mic-btn', onClick: () => { dismissBanner('mic_unavailable'); if (session) startMic(); } },
  ];
}

function stopMic() {
  // The session is ending or the mic is gone: whatever is held sends nothing more.
  if (talkHold.releaseAll()) viva.talking = false;
  if (mic) mic.stop();
  mic = null;
  micLevel = 0;
  if (viva.mic === 'on' || viva.mic === 'requesting') viva.mic = 'off';
  renderVad();
}

/**
 * @param {ArrayBuffer} pcm
 * @param {number} rms
 */
function onMicFrame(pcm, rms) {
  micLevel = rms;
  viva.micSeconds += pcm.byteLength / 2 / CAPTURE_RATE;
  if (!session || !isLive()) return;
  // Hands-free, audio goes out continuously, silence and interviewer speech included:
  // the server's VAD, endpointer and barge-in detector all need the stream. Push to
  // talk, nothing goes out between presses (the meter still moves, as a mic check).
  if (viva.talkMode === 'ptt' && !talkHold.held) return;
  if (session.conn.sendAudio(pcm)) viva.audioFramesSent++;
  viva.audioFramesDropped = session.conn.droppedAudioFrames;
}

/** @param {UtteranceResult} res */
function onUtteranceDone(res) {
  if (res.interrupted) viva.utterancesInterrupted++;
  else if (!res.muted) viva.utterancesPlayed++;
  const node = findAgentNode(res.id);
  if (node) node.classList.remove('speaking');
  if (player && !player.speaking && viva.state === 'speaking') setState('listening');
}

// ---------------------------------------------------------------------------
// Conversation

/** @param {string} id @returns {HTMLElement | null} */
function findAgentNode(id) {
  return ui.conversation.querySelector(`.msg.agent[data-utterance-id="${CSS.escape(String(id))}"]`);
}

/** @param {HTMLElement} node */
function appendToConversation(node) {
  const c = ui.conversation;
  const nearBottom = c.scrollHeight - c.scrollTop - c.clientHeight < 120;
  const empty = c.querySelector('.empty-state');
  if (empty) empty.remove();
  c.append(node);
  // Follow the conversation unless the user scrolled up to reread something.
  if (nearBottom) c.scrollTop = c.scrollHeight;
}

function clearConversation() {
  ui.conversation.replaceChildren(el('p', { class: 'empty-state', text: "The interviewer's questions and your answers will appear here." }));
  setPartial('');
  ui.scorecard.replaceChildren(el('h2', { class: 'panel-title', id: 'scorecard-title', text: 'Last answer' }),
    el('p', { class: 'muted', text: 'Scores for each answer appear here.' }));
  ui.summary.replaceChildren();
  ui.summary.hidden = true;
  ui.progress.textContent = '';
  pendingTyped = null;
}

/** @param {string} text */
function setPartial(text) {
  ui.partial.textContent = text;
  ui.partial.classList.toggle('active', !!text);
}

/** @param {string} s */
function normalize(s) {
  return s.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The candidate message a score belongs to: by turn id, else the latest unscored one.
 * @param {unknown} turnId
 * @returns {HTMLElement | null}
 */
function findCandidateNode(turnId) {
  if (turnId !== undefined && turnId !== null) {
    const n = ui.conversation.querySelector(`.msg.candidate[data-turn-id="${CSS.escape(String(turnId))}"]`);
    if (n) return /** @type {HTMLElement} */ (n);
  }
  const all = /** @type {HTMLElement[]} */ ([...ui.conversation.querySelectorAll('.msg.candidate')]);
  for (let i = all.length - 1; i >= 0; i--) {
    if (!all[i].dataset.scored) return all[i];
  }
  return null;
}

// ---------------------------------------------------------------------------
// Server messages

/** @param {ServerMessage} msg */
function onServerMessage(msg) {
  viva.messages.push(msg);
  if (!session) return;
  switch (msg.type) {
    case ServerType.SESSION: return onSession(msg);
    case ServerType.AGENT: return onAgent(msg);
    case ServerType.AUDIO_START:
      if (player) player.begin(String(msg.utterance_id), Number(msg.sample_rate) || 24000);
      findAgentNode(String(msg.utterance_id))?.classList.add('speaking');
      if (viva.state !== 'ended' && viva.state !== 'ending' && viva.state !== 'error') setState('speaking');
      return;
    case ServerType.AUDIO_END:
      if (player) player.end(String(msg.utterance_id), msg.interrupted === true);
      else if (viva.state === 'speaking') setState('listening');
      return;
    case ServerType.VAD:
      viva.vad = msg.state === VadState.SPEECH ? VadState.SPEECH : VadState.SILENCE;
      renderVad();
      return;
    case ServerType.TRANSCRIPT: return onTranscript(msg);
    case ServerType.TURN_RESUMED: return onTurnResumed(msg);
    case ServerType.SCORE: return onScore(msg);
    case ServerType.SUMMARY: return onSummary(msg);
    case ServerType.ERROR: return onServerError(msg);
    default:
      // Newer servers may send types this client does not know; the protocol lets us ignore them.
      return;
  }
}

/** @param {ServerMessage} msg */
function onSession(msg) {
  if (!session) return;
  session.gotSession = true;
  session.sessionId = typeof msg.session_id === 'string' ? msg.session_id : String(msg.session_id ?? '');
  session.token = typeof msg.token === 'string' ? msg.token : null;
  viva.sessionId = session.sessionId;
  viva.numQuestions = typeof msg.num_questions === 'number' ? msg.num_questions : null;
  if (session.sessionId && session.token) {
    lastSession = { sessionId: session.sessionId, token: session.token, options: session.options };
  }
  if (typeof msg.protocol === 'number' && msg.protocol !== PROTOCOL_VERSION) {
    console.warn(`viva: server speaks protocol ${msg.protocol}, this client version ${PROTOCOL_VERSION}`);
  }
  if (session.resumed) appendToConversation(renderNote('Reconnected: the session continues.'));
  if (viva.state === 'connecting') setState(player && player.speaking ? 'speaking' : 'listening');
  else updateControls();
  // Typed mode: with no microphone the text box is how to answer, so put the caret there.
  if (viva.mic === 'denied' || viva.mic === 'unavailable') ui.textInput.focus();
}

/** @param {ServerMessage} msg */
function onAgent(msg) {
  const node = renderAgentMessage(msg, viva.numQuestions);
  appendToConversation(node);
  pendingTyped = null;
  if (typeof msg.question_id === 'string' && (msg.kind === AgentKind.QUESTION) && typeof msg.text === 'string') {
    if (!prompts.has(msg.question_id)) prompts.set(msg.question_id, msg.text);
  }
  if (typeof msg.index === 'number') {
    // Kept so that withdrawing this question (turn_resumed) can put the label back.
    node.dataset.progressBefore = ui.progress.textContent || '';
    ui.progress.textContent = viva.numQuestions && session && session.options.mode !== Mode.DRILL
      ? `Question ${msg.index} of ${viva.numQuestions}` : `Question ${msg.index}`;
  }
  if (viva.state === 'thinking' || viva.state === 'connecting') setState('listening');
}

/** @param {ServerMessage} msg */
function onTranscript(msg) {
  const text = typeof msg.text === 'string' ? msg.text : '';
  if (!msg.final) {
    setPartial(text);
    ui.partial.dataset.turnId = String(msg.turn_id ?? '');
    return;
  }
  setPartial('');
  const turnId = msg.turn_id ?? null;
  if (turnId !== null && ui.conversation.querySelector(`.msg.candidate[data-turn-id="${CSS.escape(String(turnId))}"]`)) {
    // A repeated final for the same turn: update in place.
    const existing = /** @type {HTMLElement} */ (ui.conversation.querySelector(`.msg.candidate[data-turn-id="${CSS.escape(String(turnId))}"] .msg-text`));
    if (text) existing.textContent = text;
  } else if (pendingTyped && normalize(pendingTyped.text) === normalize(text)) {
    // The server echoed our typed answer: adopt the bubble already shown.
    if (turnId !== null) pendingTyped.node.dataset.turnId = String(turnId);
    pendingTyped = null;
  } else if (text.trim()) {
    appendToConversation(renderCandidateMessage({ text, turnId }));
  }
  if (viva.state === 'listening') setState('thinking');
}

/**
 * The candidate went on after the interviewer began to reply: the reply never happened
 * and the same turn is listening again (its final transcript and score come again).
 * @param {ServerMessage} msg
 */
function onTurnResumed(msg) {
  const withdrawn = Array.isArray(msg.withdrawn) ? msg.withdrawn.map(String) : [];
  if (player && withdrawn.length) player.stopAll();
  let progressBefore = null;
  for (const id of withdrawn) {
    const agentNode = findAgentNode(id);
    if (progressBefore === null && agentNode?.dataset.progressBefore !== undefined) {
      progressBefore = agentNode.dataset.progressBefore;
    }
    agentNode?.remove();
  }
  if (progressBefore !== null) ui.progress.textContent = progressBefore;
  const node = findCandidateNode(msg.turn_id);
  if (node && node.dataset.turnId === String(msg.turn_id)) {
    delete node.dataset.scored;
  }
  if (viva.state === 'thinking' || viva.state === 'speaking') setState('listening');
}

/** @param {ServerMessage} msg */
function onScore(msg) {
  viva.lastScore = msg;
  const qText = typeof msg.question_id === 'string' ? prompts.get(msg.question_id) || null : null;
  renderScoreCard(ui.scorecard, msg, qText);
  const node = findCandidateNode(msg.turn_id);
  if (node) {
    node.dataset.scored = 'true';
    // The words that earned each covered point, marked in the answer itself.
    const textNode = /** @type {HTMLElement | null} */ (node.querySelector('.msg-text'));
    if (textNode) highlightEvidence(textNode, textNode.textContent || '', msg.key_points);
    const chip = /** @type {HTMLElement | null} */ (node.querySelector('.score-chip'));
    if (chip) {
      chip.hidden = false;
      chip.textContent = fmtScore(msg.overall);
      chip.className = `score-chip band-${scoreBand(msg.overall)}`;
      chip.title = 'Overall score for this answer';
    }
  }
}

/** @param {ServerMessage} msg */
function onSummary(msg) {
  viva.summary = msg;
  if (session) session.gotSummary = true;
  renderSummary(ui.summary, msg, prompts);
  ui.summary.hidden = false;
  stopMic();
  setPartial('');
  setState('ended');
  ui.summary.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/** @param {ServerMessage} msg */
function onServerError(msg) {
  const code = typeof msg.code === 'string' ? msg.code : 'error';
  const message = typeof msg.message === 'string' && msg.message ? msg.message : 'The server reported an error.';
  const fatal = msg.fatal === true;
  /** @type {BannerAction[]} */
  const actions = [];
  if (fatal) {
    actions.push({ label: code === ErrorCode.BUSY ? 'Try again' : 'Start a new session', id: 'restart-btn', onClick: () => restart(false) });
  }
  const friendly = code === ErrorCode.BUSY ? `The server is busy right now. ${message}`
    : code === ErrorCode.BAD_SESSION ? `This session cannot be resumed. ${message}`
    : code === ErrorCode.TAKEN_OVER ? 'This session continues in another tab or window.' : message;
  showBanner({ code: `server_${code}`, message: friendly, fatal, actions });
  if (fatal && session) {
    session.fatal = true;
    stopMic();
    if (player) player.stopAll();
    setState('error', friendly);
  }
}

// ---------------------------------------------------------------------------
// Session lifecycle

/**
 * Start a session (or resume the last one after a lost connection).
 * @param {{resume?: boolean}} [opts]
 */
async function startSession(opts = {}) {
  if (session) return;
  const resume = !!opts.resume && !!lastSession;
  /** @type {StartOptions} */
  const options = resume && lastSession
    ? { ...lastSession.options, resume: { session_id: lastSession.sessionId, token: lastSession.token } }
    : readSetup();
  dismissBanner('server_gone');
  for (const n of [...ui.banners.querySelectorAll('.banner[data-fatal="true"]')]) n.remove();
  ui.banners.hidden = ui.banners.childElementCount === 0;
  if (!resume) {
    clearConversation();
    lastSession = null;
  }
  // The previous session's closing words may still be playing.
  if (player) player.stopAll();
  viva.summary = null;
  viva.vad = VadState.SILENCE;

  const conn = new VivaConnection(buildWsUrl(), {
    onMessage: onServerMessage,
    onAudio: onServerAudio,
    onClose: onSocketClose,
    onProtocolError: (detail) => console.warn('viva:', detail),
  });
  session = {
    conn, options, resumed: resume, sessionId: null, token: null,
    gotSession: false, gotSummary: false, stopRequested: false, fatal: false, stopTimer: null,
  };
  setState('connecting');
  ensureAudio();
  conn.connect(options);
  // The mic is opened in parallel with the socket: a slow permission prompt must
  // not hold up the session, and a refusal just means typed answers.
  startMic();
  ui.conversation.focus({ preventScroll: true });
}

/** @param {ArrayBuffer} data */
function onServerAudio(data) {
  viva.audioFramesReceived++;
  if (player && session && !session.fatal) player.push(data);
}

/** @param {CloseInfo} info */
function onSocketClose(info) {
  const s = session;
  if (!s) return;
  session = null;
  if (s.stopTimer) clearTimeout(s.stopTimer);
  stopMic();
  setPartial('');

  const ended = s.gotSummary || s.stopRequested || (info.byClient && !info.timedOut);
  if (s.fatal) {
    // The error banner already explains; keep the 'error' state.
    updateControls();
    return;
  }
  if (ended) {
    if (!s.gotSummary && s.stopRequested && info.byClient) {
      showBanner({ code: 'no_summary', level: 'warning', message: 'The server did not send a summary before the session closed.' });
    }
    appendToConversation(renderNote('Session ended.'));
    setState('ended');
    return;
  }
  if (player) player.stopAll();
  if (info.code === 1008) {
    const msg = params.get('key')
      ? 'The server refused the connection: the access key in the link is wrong, or this page\'s origin is not allowed.'
      : 'The server refused the connection: it needs an access key. Open the link with ?key=… that you were given.';
    showBanner({ code: 'server_refused', fatal: true, message: msg, actions: [{ label: 'Retry', id: 'restart-btn', onClick: () => restart(false) }] });
    setState('error', 'connection refused');
    return;
  }
  if (!info.opened) {
    showBanner({
      code: 'server_gone', fatal: true,
      message: info.timedOut ? 'Could not reach the viva server (timed out).' : 'Could not reach the viva server. Is it running?',
      actions: [{ label: 'Retry', id: 'restart-btn', onClick: () => restart(false) }],
    });
    setState('error', 'server unreachable');
    return;
  }
  if (info.code === 1000 && s.gotSession) {
    // Normal close without a summary (for example a drill the server ended).
    appendToConversation(renderNote('The server ended the session.'));
    setState('ended');
    return;
  }
  /** @type {BannerAction[]} */
  const actions = [];
  if (lastSession) actions.push({ label: 'Reconnect', id: 'reconnect-btn', onClick: () => restart(true) });
  actions.push({ label: 'Start over', id: 'restart-btn', onClick: () => restart(false) });
  showBanner({
    code: 'server_gone', fatal: true,
    message: `Connection to the server was lost (server gone${info.code ? `, code ${info.code}` : ''}). Your answers so far are saved on the server.`,
    actions,
  });
  appendToConversation(renderNote('Connection lost.'));
  setState('error', 'server gone');
}

/**
 * Banner buttons: reconnect (resume) or start a fresh session.
 * @param {boolean} resume
 */
function restart(resume) {
  if (session) return;
  dismissBanner('server_gone');
  dismissBanner('server_refused');
  startSession({ resume });
}

/** Stop button: ask for the summary; force-close if the server does not answer. */
function stopSession() {
  const s = session;
  if (!s) return;
  stopMic();
  if (player) player.stopAll();
  if (s.gotSummary) {
    // Summary already here; the server is about to close anyway.
    s.conn.close(1000, 'done');
  } else if (s.conn.live && !s.fatal) {
    s.stopRequested = true;
    s.conn.sendStop();
    setState('ending');
    s.stopTimer = setTimeout(() => { if (session === s) s.conn.close(1000, 'no summary'); }, 10000);
  } else {
    s.stopRequested = true;
    s.conn.close(1000, 'stopped before start');
  }
}

/**
 * Send a typed answer.
 * @param {string} raw
 * @returns {boolean}
 */
function sendText(raw) {
  const text = raw.trim().slice(0, MAX_TEXT_CHARS);
  if (!text || !session || !isLive()) return false;
  // Typing while the interviewer talks means "I'm answering": stop the audio too.
  if (player && player.speaking) interrupt();
  if (!session.conn.sendText(text)) return false;
  const node = renderCandidateMessage({ text, typed: true });
  appendToConversation(node);
  pendingTyped = { text, node };
  setPartial('');
  setState('thinking');
  return true;
}

/** Commands whose answer replaces what the interviewer is saying. */
const REPLACING_COMMANDS = /** @type {string[]} */ ([Command.REPEAT, Command.SKIP, Command.HINT, Command.NEXT]);

/**
 * @param {string} name
 * @returns {boolean}
 */
function sendCommand(name) {
  if (!session || !isLive()) return false;
  // A command replaces what the interviewer is saying; silence it now.
  const replaces = REPLACING_COMMANDS.includes(name);
  if (player && player.speaking && replaces) interrupt();
  if (!session.conn.sendCommand(name)) return false;
  if (replaces && viva.state === 'listening') setState('thinking');
  return true;
}

/** @returns {boolean} */
function endTurn() {
  if (!session || !isLive()) return false;
  if (!session.conn.sendEndTurn()) return false;
  // Only expect a reply when there was something said in this turn.
  if (viva.state === 'listening' && (ui.partial.textContent || viva.vad === VadState.SPEECH)) setState('thinking');
  return true;
}

/**
 * Barge-in from the user's side: tell the server and silence local playback now.
 * @returns {boolean} whether there was anything to interrupt
 */
function interrupt() {
  if (!session || !isLive()) return false;
  const speaking = (player && player.speaking) || viva.state === 'speaking';
  if (!speaking) return false;
  session.conn.sendInterrupt();
  if (player) player.stopAll();
  if (viva.state === 'speaking') setState('listening');
  return true;
}

// ---------------------------------------------------------------------------
// Push to talk

/**
 * Choose hands-free or push to talk; remembered for the next visit. Works during a
 * session too: the stream stops or starts with the next microphone frame.
 * @param {TalkMode} mode
 */
function setTalkMode(mode) {
  if (!isTalkMode(mode)) return;
  storeTalkMode(localStore(), mode);
  if (mode === viva.talkMode) { renderTalk(); return; }
  const wasHandsFree = viva.talkMode === 'handsfree';
  if (talkHold.releaseAll()) viva.talking = false; // hands-free from here: the endpointer decides
  viva.talkMode = mode;
  // From a streaming microphone to silence between presses: close the VAD's segment
  // as a release would (see RELEASE_SILENCE_S), but leave the turn to the candidate.
  if (wasHandsFree && session && isLive()) sendReleaseSilence();
  updateControls();
  renderVad();
}

/**
 * Space, Enter on the talk button, or a pointer on it went down.
 * @param {string} source which hand: 'key:Space', 'pointer:3', ...
 * @returns {boolean} whether push to talk took the press
 */
function pressTalk(source) {
  if (viva.talkMode !== 'ptt' || !session || !isLive() || viva.mic !== 'on') return false;
  if (!talkHold.press(source)) return true; // already held by another hand
  viva.talking = true;
  // Pressing while the interviewer speaks is barge-in: the candidate's words win.
  interrupt();
  renderVad();
  return true;
}

/**
 * @param {string} source
 * @returns {boolean} whether this ended the hold (the turn was sent)
 */
function releaseTalk(source) {
  if (!talkHold.release(source)) return false;
  viva.talking = false;
  endHeldTurn();
  return true;
}

/** Let go of every hand at once (focus lost, microphone gone): the turn is sent. */
function letGo() {
  if (!talkHold.releaseAll()) return;
  viva.talking = false;
  endHeldTurn();
}

/** The turn ends on the release, not on the endpointer's silence. */
function endHeldTurn() {
  if (session && isLive()) {
    sendReleaseSilence();
    endTurn();
  }
  renderVad();
}

/** RELEASE_SILENCE_S of zeros, so the server's VAD closes the segment (talk.js says why). */
function sendReleaseSilence() {
  if (!session) return;
  session.conn.sendAudio(releaseSilence(session.options.sample_rate ?? CAPTURE_RATE));
}

// ---------------------------------------------------------------------------
// Events

/** @param {EventTarget | null} t */
function isInteractive(t) {
  if (!(t instanceof HTMLElement)) return false;
  return t.isContentEditable || !!t.closest('input, textarea, select, button, a[href], summary, [role="button"]');
}

function bindEvents() {
  ui.setup.addEventListener('submit', (e) => {
    e.preventDefault();
    startSession();
  });
  ui.setup.addEventListener('change', () => updateControls());
  ui.stopBtn.addEventListener('click', () => stopSession());
  ui.interruptBtn.addEventListener('click', () => interrupt());
  ui.doneBtn.addEventListener('click', () => endTurn());
  for (const radio of ui.talkRadios) {
    radio.addEventListener('change', () => { if (radio.checked && isTalkMode(radio.value)) setTalkMode(radio.value); });
  }
  ui.talkBtn.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return; // the primary button, a finger or a pen tip
    // No focus move, text selection or emulated mouse events: focus stays where Space works.
    e.preventDefault();
    try { ui.talkBtn.setPointerCapture(e.pointerId); } catch { /* pointer already gone */ }
    pressTalk(`pointer:${e.pointerId}`);
  });
  for (const type of /** @type {const} */ (['pointerup', 'pointercancel', 'lostpointercapture'])) {
    ui.talkBtn.addEventListener(type, (e) => { releaseTalk(`pointer:${e.pointerId}`); });
  }
  // A long press on a touch screen would open the context menu and cancel the pointer.
  ui.talkBtn.addEventListener('contextmenu', (e) => e.preventDefault());
  window.addEventListener('blur', () => letGo()); // the keyup would go to another window
  document.addEventListener('visibilitychange', () => { if (document.hidden) letGo(); });
  for (const b of ui.commandBtns) {
    b.addEventListener('click', () => sendCommand(/** @type {string} */ (b.dataset.command)));
  }
  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    if (sendText(ui.textInput.value)) {
      ui.textInput.value = '';
      updateControls();
    }
  });
  ui.textInput.addEventListener('input', () => updateControls());
  ui.textInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const space = e.key === ' ' || e.code === 'Space';
    // Push to talk: Space anywhere but a text field (on a focused button too, which
    // would otherwise press that button), and Enter on the talk button itself.
    const talkKey = (space && !isTextEntry(e.target)) || (e.key === 'Enter' && e.target === ui.talkBtn);
    if (viva.talkMode === 'ptt' && talkKey && isLive()) {
      e.preventDefault(); // no page scroll, no button click; auto-repeat is the same hold
      if (!e.repeat) pressTalk(`key:${e.code || e.key}`);
      return;
    }
    if (e.repeat) return;
    // Space interrupts only when no control has focus, so it never steals a
    // button press or a typed space; Esc works everywhere.
    if ((space && !isInteractive(e.target)) || e.key === 'Escape') {
      if (viva.state === 'speaking' && interrupt()) e.preventDefault();
    }
  });
  document.addEventListener('keyup', (e) => {
    if (releaseTalk(`key:${e.code || e.key}`)) e.preventDefault();
  });
  window.addEventListener('pagehide', () => {
    if (session) session.conn.close(1001, 'page closed');
  });
}

function init() {
  applyUrlParams();
  bindEvents();
  unlockAudioOnGesture();
  setState('idle');
  renderVad();
  requestAnimationFrame(meterLoop);
  checkHealth();
  loadCategories();
  // Autostart does not wait for the category list: readSetup() falls back to
  // the categories named in the URL while the checkboxes are not there yet.
  if (params.get('autostart') === '1') startSession();
}

init();

// viva push-to-talk: the pure parts (no DOM, no audio), so node can test them.
//
// Two ways to take a turn: hands-free (the microphone streams all the time and the
// server's endpointer ends the turn at a pause) and push to talk (audio goes out only
// while Space or the talk button is held; letting go ends the turn with `end_turn`).

/** @typedef {'handsfree' | 'ptt'} TalkMode */

/** @type {readonly TalkMode[]} */
export const TALK_MODES = Object.freeze(['handsfree', 'ptt']);
/** @type {TalkMode} */
export const DEFAULT_TALK_MODE = 'handsfree';
/** localStorage key of the chosen mode (the page's only remembered setting). */
export const TALK_MODE_KEY = 'viva.talkMode';

/**
 * Digital silence sent after a release, before `end_turn`.
 *
 * Why anything at all: between presses nothing is sent, so the server's VAD stands
 * still in whatever state the last frame left it. Released mid-word, it stays in
 * "speech", and the next press then never gets a speech onset, so no new turn
 * begins until the candidate happens to pause (measured on the server's Silero
 * VAD with a Piper sentence: with no tail, a second 2.8 s answer started no turn at
 * all). Zeros close the segment: the VAD counts frames whose peak is below
 * -66 dBFS as silence without running the model and resets its state, so the next
 * press starts fresh. It needs 4 silent 32 ms frames (StreamingVad.end_frames) plus
 * up to one 32 ms frame still holding speech: 0.16 s. 0.2 s covers that, and stays
 * well under the shortest silence that lets the endpointer end a turn by itself
 * (0.5 s, VIVA_ENDPOINT_SILENCE_MS), so the turn still ends on the release.
 */
export const RELEASE_SILENCE_S = 0.2;

/**
 * @param {unknown} value
 * @returns {value is TalkMode}
 */
export function isTalkMode(value) {
  return typeof value === 'string' && /** @type {readonly string[]} */ (TALK_MODES).includes(value);
}

/**
 * The remembered mode; the default when none is stored, the value is unknown, or
 * storage is unavailable (blocked cookies, some private windows throw on access).
 * @param {Pick<Storage, 'getItem'> | null | undefined} storage
 * @returns {TalkMode}
 */
export function readTalkMode(storage) {
  try {
    const stored = storage ? storage.getItem(TALK_MODE_KEY) : null;
    return isTalkMode(stored) ? stored : DEFAULT_TALK_MODE;
  } catch {
    return DEFAULT_TALK_MODE;
  }
}

/**
 * Remember the mode for the next visit.
 * @param {Pick<Storage, 'setItem'> | null | undefined} storage
 * @param {TalkMode} mode
 * @returns {boolean} whether it was stored
 */
export function storeTalkMode(storage, mode) {
  if (!storage || !isTalkMode(mode)) return false;
  try {
    storage.setItem(TALK_MODE_KEY, mode);
    return true;
  } catch {
    return false; // quota or blocked storage: the choice holds for this visit only
  }
}

/**
 * RELEASE_SILENCE_S of PCM16 zeros at `sampleRate`, as one binary frame.
 * @param {number} sampleRate the `sample_rate` announced in `start`
 * @param {number} [seconds]
 * @returns {ArrayBuffer}
 */
export function releaseSilence(sampleRate, seconds = RELEASE_SILENCE_S) {
  const samples = Math.max(0, Math.round(sampleRate * seconds));
  return new ArrayBuffer(samples * 2);
}

/**
 * Whether a key press on this element is typing rather than a shortcut: text inputs,
 * text areas, selects and editable content keep Space for themselves. Duck-typed on
 * tagName / type / isContentEditable so it works on DOM elements and plain objects.
 * @param {unknown} target
 * @returns {boolean}
 */
export function isTextEntry(target) {
  if (!target || typeof target !== 'object') return false;
  const t = /** @type {{tagName?: unknown, type?: unknown, isContentEditable?: unknown}} */ (target);
  if (t.isContentEditable === true) return true;
  const tag = typeof t.tagName === 'string' ? t.tagName.toUpperCase() : '';
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = typeof t.type === 'string' ? t.type.toLowerCase() : 'text';
  return !NON_TEXT_INPUTS.has(type);
}

/** Input types Space does not type into. */
const NON_TEXT_INPUTS = new Set(['button', 'checkbox', 'radio', 'range', 'reset', 'submit', 'image', 'color', 'file']);

/**
 * Which hands hold the talk control. Space and the on-screen button may overlap (a
 * finger on the button, then Space): the turn ends when the last one lets go, and a
 * second press while held starts nothing new.
 */
export class TalkHold {
  constructor() {
    /** @type {Set<string>} */ this.sources = new Set();
  }

  /** @returns {boolean} */
  get held() {
    return this.sources.size > 0;
  }

  /**
   * @param {string} source e.g. 'key:Space', 'pointer:1'
   * @returns {boolean} true when this press starts the hold
   */
  press(source) {
    const was = this.held;
    this.sources.add(source);
    return !was;
  }

  /**
   * @param {string} source
   * @returns {boolean} true when this release ends the hold
   */
  release(source) {
    if (!this.sources.delete(source)) return false;
    return !this.held;
  }

  /**
   * Let go of everything (focus lost, session over, mode changed).
   * @returns {boolean} true when something was held
   */
  releaseAll() {
    const was = this.held;
    this.sources.clear();
    return was;
  }
}

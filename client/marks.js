// Delivery marks of a spoken answer's words, as the server sends them: the page holds
// no word list of its own. The server (server/lexicon.py, `mark_words`) puts on each
// word the fillers, hedges and repeats delivery scoring counted, and the long pause
// before it; this module only reads them.

import { WordMark } from './protocol.js';

/**
 * @typedef {{word: string, start: number, end: number, probability?: number,
 *   marks?: string[] | null, pause_before_s?: number | null}} Word
 * @typedef {{word: string, start: number, end: number, marks: string[], filler: boolean,
 *   hedge: boolean, repeat: boolean, pauseBefore: number | null}} MarkedWord
 */

/** Marks the page knows how to draw (a CSS class each); others are ignored. */
export const DRAWN_MARKS = /** @type {string[]} */ ([WordMark.FILLER, WordMark.HEDGE, WordMark.REPEAT]);

/**
 * The words with the marks the server sent (none where it sent none).
 * @param {Word[] | null | undefined} words
 * @returns {MarkedWord[]}
 */
export function markWords(words) {
  return (words || []).map((w) => {
    const marks = (Array.isArray(w.marks) ? w.marks : []).filter((m) => DRAWN_MARKS.includes(m));
    const pause = Number(w.pause_before_s);
    return {
      word: String(w.word ?? '').trim(), start: Number(w.start), end: Number(w.end), marks,
      filler: marks.includes(WordMark.FILLER), hedge: marks.includes(WordMark.HEDGE), repeat: marks.includes(WordMark.REPEAT),
      pauseBefore: w.pause_before_s != null && Number.isFinite(pause) && pause > 0 ? pause : null,
    };
  });
}

/**
 * Index of the word being spoken at time t, or -1 between words.
 * @param {Array<{start: number, end: number}>} words
 * @param {number} t
 */
export function wordAt(words, t) {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) { // last word that started at or before t
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= t + 1e-3) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (found < 0) return -1;
  return t <= words[found].end + 0.25 ? found : -1;
}

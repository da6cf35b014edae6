// viva audio: microphone capture (through mic-worklet.js) and gapless playback
// of the interviewer's streamed PCM.
//
// One AudioContext serves both directions. It runs at the device's native rate:
// the worklet resamples capture to 16 kHz itself, and playback AudioBuffers are
// created at the server's rate so the context resamples them on output.

import { DEFAULT_SAMPLE_RATE } from './protocol.js';

/** Rate of the audio we send, announced as `sample_rate` in `start`: the protocol's
 * default, the rate of the server's speech models, so the server resamples nothing. */
export const CAPTURE_RATE = DEFAULT_SAMPLE_RATE;
/** 20 ms of audio. */
export const FRAME_SAMPLES = CAPTURE_RATE / 50;

/**
 * Why the microphone could not be opened, in a form the UI can explain.
 * @typedef {'denied' | 'not_found' | 'busy' | 'insecure' | 'unsupported' | 'error'} MicErrorKind
 */

/** Error thrown by MicCapture.start(), carrying a user-facing reason. */
export class MicError extends Error {
  /**
   * @param {MicErrorKind} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'MicError';
    /** @type {MicErrorKind} */ this.kind = kind;
  }
}

/**
 * Map a getUserMedia / worklet failure to a MicError the user can act on.
 * @param {unknown} err
 * @returns {MicError}
 */
export function classifyMicError(err) {
  if (err instanceof MicError) return err;
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return new MicError('denied', 'Microphone access was denied.');
    case 'SecurityError':
      return new MicError('insecure', 'The browser blocked the microphone on this page.');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new MicError('not_found', 'No microphone was found.');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new MicError('busy', 'The microphone is in use by another application or could not be started.');
    default:
      return new MicError('error', `The microphone could not be opened${err instanceof Error && err.message ? `: ${err.message}` : '.'}`);
  }
}

/**
 * Microphone -> 16 kHz PCM16 LE frames of 20 ms.
 */
export class MicCapture {
  /**
   * @param {AudioContext} ctx
   * @param {{
   *   onFrame: (pcm: ArrayBuffer, rms: number) => void,
   *   onEnded?: () => void,
   * }} handlers onFrame gets each 640-byte frame; onEnded fires if the device goes away
   */
  constructor(ctx, handlers) {
    this.ctx = ctx;
    this.handlers = handlers;
    /** @type {MediaStream | null} */ this.stream = null;
    /** @type {MediaStreamAudioSourceNode | null} */ this.source = null;
    /** @type {AudioWorkletNode | null} */ this.node = null;
    /** @type {GainNode | null} */ this.sink = null;
    this.stopped = false;
  }

  /**
   * Ask for the microphone and start posting frames.
   * @returns {Promise<void>} rejects with MicError
   */
  async start() {
    if (!window.isSecureContext) {
      throw new MicError('insecure', 'The microphone needs a secure page (https:// or localhost).');
    }
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
      throw new MicError('unsupported', 'This browser cannot capture the microphone.');
    }
    if (!this.ctx.audioWorklet) {
      throw new MicError('unsupported', 'This browser lacks AudioWorklet support.');
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          // The interviewer's voice comes out of the speakers; without echo
          // cancellation the server would hear itself and barge in on itself.
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
          channelCount: 1,
        },
        video: false,
      });
    } catch (err) {
      throw classifyMicError(err);
    }
    if (this.stopped) { // stop() was called while the permission prompt was open
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    this.stream = stream;
    try {
      await this.ctx.audioWorklet.addModule(new URL('./mic-worklet.js', import.meta.url).href);
      if (this.stopped) { this.releaseStream(); return; }
      this.source = this.ctx.createMediaStreamSource(stream);
      this.node = new AudioWorkletNode(this.ctx, 'viva-mic', {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        channelCount: 1,
        // 'speakers' down-mixes stereo inputs to mono before the worklet sees them.
        channelCountMode: 'explicit',
        channelInterpretation: 'speakers',
        processorOptions: { targetRate: CAPTURE_RATE, frameSamples: FRAME_SAMPLES },
      });
      this.node.port.onmessage = (ev) => {
        const msg = ev.data;
        if (msg && msg.type === 'frame' && !this.stopped) this.handlers.onFrame(msg.pcm, msg.rms);
      };
      // A node that reaches no destination may not be pulled by the renderer;
      // route it into a muted gain so it always runs, without playing the mic back.
      this.sink = this.ctx.createGain();
      this.sink.gain.value = 0;
      this.source.connect(this.node);
      this.node.connect(this.sink);
      this.sink.connect(this.ctx.destination);
    } catch (err) {
      this.stop();
      throw new MicError('unsupported', `Audio capture could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const track of stream.getAudioTracks()) {
      track.addEventListener('ended', () => {
        if (!this.stopped && this.handlers.onEnded) this.handlers.onEnded();
      });
    }
  }

  /** @returns {string} the device label, when the browser reveals it */
  get label() {
    const t = this.stream && this.stream.getAudioTracks()[0];
    return t ? t.label : '';
  }

  releaseStream() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  /** Stop capturing and release the device (the browser's mic indicator goes off). */
  stop() {
    this.stopped = true;
    if (this.node) {
      try { this.node.port.postMessage({ type: 'stop' }); } catch { /* already closed */ }
      this.node.port.onmessage = null;
      this.node.disconnect();
    }
    if (this.source) this.source.disconnect();
    if (this.sink) this.sink.disconnect();
    this.node = null;
    this.source = null;
    this.sink = null;
    this.releaseStream();
  }
}

/**
 * Decode PCM signed 16-bit little-endian mono into floats.
 * @param {ArrayBuffer} buf
 * @param {number} [byteOffset]
 * @param {number} [byteLength] must be even
 * @returns {Float32Array}
 */
export function pcm16leToFloat32(buf, byteOffset = 0, byteLength = buf.byteLength - byteOffset) {
  const n = byteLength >> 1;
  const view = new DataView(buf, byteOffset, n * 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

/**
 * @typedef {Object} UtteranceRecord
 * @property {string} id
 * @property {number} sampleRate
 * @property {number} pending   sources scheduled and not yet ended
 * @property {boolean} ended    audio_end received
 * @property {boolean} done     finished (played out or cut)
 * @property {number} seconds   audio scheduled for it
 */

/**
 * @typedef {Object} UtteranceResult
 * @property {string} id
 * @property {boolean} interrupted  cut short (server or local interrupt)
 * @property {boolean} muted        the AudioContext was not running, so nothing was heard
 * @property {number} seconds       audio scheduled for it
 */

/**
 * Gapless player for the interviewer's streamed speech.
 *
 * Each binary frame becomes an AudioBufferSourceNode started exactly where the
 * previous one ends (a running playhead on the context clock). The first frame
 * of a burst starts a little in the future (leadTime) so that frames arriving
 * with normal network jitter still land before the playhead catches up.
 */
export class Player {
  /**
   * @param {AudioContext} ctx
   * @param {{
   *   leadTime?: number,
   *   onScheduled?: (seconds: number) => void,
   *   onUtteranceDone?: (result: UtteranceResult) => void,
   * }} [opts]
   */
  constructor(ctx, opts = {}) {
    this.ctx = ctx;
    this.leadTime = opts.leadTime ?? 0.05;
    this.onScheduled = opts.onScheduled || (() => {});
    this.onUtteranceDone = opts.onUtteranceDone || (() => {});
    /** Context time at which the next frame should start. */
    this.playhead = 0;
    /** @type {Map<string, UtteranceRecord>} */ this.utterances = new Map();
    /** @type {UtteranceRecord | null} the utterance binary frames belong to */
    this.current = null;
    /** @type {Set<AudioBufferSourceNode>} */ this.sources = new Set();
    /** Frames after a local interrupt belong to a cut utterance: ignore them until the next audio_start. */
    this.discarding = false;
    /** A trailing odd byte from a previous frame, so odd-sized frames never shift the sample grid. */
    /** @type {number | null} */ this.carry = null;
    this.output = ctx.createGain();
    this.output.connect(ctx.destination);
  }

  /** @returns {boolean} true while any utterance is scheduled or still streaming */
  get speaking() {
    for (const u of this.utterances.values()) if (!u.done) return true;
    return false;
  }

  /**
   * audio_start: binary frames that follow belong to this utterance.
   * @param {string} id
   * @param {number} sampleRate
   */
  begin(id, sampleRate) {
    const rate = sampleRate >= 3000 && sampleRate <= 384000 ? sampleRate : 24000;
    const rec = { id: String(id), sampleRate: rate, pending: 0, ended: false, done: false, seconds: 0 };
    this.utterances.set(rec.id, rec);
    this.current = rec;
    this.discarding = false;
    this.carry = null;
  }

  /**
   * A binary frame of PCM16 LE mono at the current utterance's rate.
   * @param {ArrayBuffer} data
   * @returns {number} seconds scheduled (0 when discarded)
   */
  push(data) {
    const rec = this.current;
    if (this.discarding || !rec || rec.done) return 0;
    let bytes = new Uint8Array(data);
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length === 0) return 0;
    const samples = pcm16leToFloat32(bytes.buffer, bytes.byteOffset, bytes.length);
    const buffer = this.ctx.createBuffer(1, samples.length, rec.sampleRate);
    buffer.copyToChannel(samples, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.output);
    const now = this.ctx.currentTime;
    // Behind the clock (first frame, or an underrun): restart with a fresh lead
    // rather than starting in the past, which would clip the frame's beginning.
    if (this.playhead < now + 0.005) this.playhead = now + this.leadTime;
    src.start(this.playhead);
    this.playhead += buffer.duration;
    rec.pending++;
    rec.seconds += buffer.duration;
    this.sources.add(src);
    src.onended = () => {
      this.sources.delete(src);
      src.disconnect();
      rec.pending--;
      this.maybeFinish(rec);
    };
    this.onScheduled(buffer.duration);
    return buffer.duration;
  }

  /**
   * audio_end from the server.
   * @param {string} id
   * @param {boolean} interrupted
   */
  end(id, interrupted) {
    const rec = this.utterances.get(String(id));
    if (!rec || rec.done) return;
    rec.ended = true;
    if (interrupted) {
      // Barge-in: the candidate is talking, so silence everything at once.
      this.stopAll();
      return;
    }
    if (this.ctx.state !== 'running') {
      // Suspended context (autoplay blocked): the clock is frozen and the
      // sources would never end; do not leave the UI stuck in "speaking".
      // Drop what is queued on the frozen clock so it cannot play, stale,
      // when the context is finally resumed.
      this.silence();
      for (const r of [...this.utterances.values()]) {
        if (!r.done) this.finishNow(r, { interrupted: false, muted: true });
      }
      return;
    }
    this.maybeFinish(rec);
  }

  /**
   * Stop every scheduled source immediately and drop the rest of the
   * current utterance's frames (local interrupt, barge-in, session end).
   */
  stopAll() {
    if (this.current && !this.current.done) this.discarding = true;
    this.silence();
    for (const rec of [...this.utterances.values()]) {
      if (!rec.done) this.finishNow(rec, { interrupted: true, muted: false });
    }
  }

  /** Stop and forget every scheduled source, without touching utterance records. */
  silence() {
    for (const src of this.sources) {
      src.onended = null;
      try { src.stop(); } catch { /* not started yet in some engines */ }
      src.disconnect();
    }
    this.sources.clear();
    this.playhead = 0;
    this.carry = null;
  }

  /** @param {UtteranceRecord} rec */
  maybeFinish(rec) {
    if (!rec.done && rec.ended && rec.pending <= 0) {
      this.finishNow(rec, { interrupted: false, muted: false });
    }
  }

  /**
   * @param {UtteranceRecord} rec
   * @param {{interrupted: boolean, muted: boolean}} how
   */
  finishNow(rec, how) {
    rec.done = true;
    rec.pending = 0;
    this.utterances.delete(rec.id);
    this.onUtteranceDone({ id: rec.id, interrupted: how.interrupted, muted: how.muted, seconds: rec.seconds });
  }

  /** Release the output node (the context itself is owned by the caller). */
  dispose() {
    this.stopAll();
    this.output.disconnect();
  }
}

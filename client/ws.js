// viva protocol connection (see docs/protocol.md, version 1).
//
// Owns the WebSocket: sends `start` as the very first message, parses text
// frames into objects, hands binary frames over as ArrayBuffers, and reports
// how the socket closed so the UI can tell "session over" from "server gone".

// The protocol's names and limits come from protocol.js, generated from the server's models.
import { ClientType, MAX_FRAME_BYTES, MAX_TEXT_CHARS } from './protocol.js';

/**
 * Options of the `start` message; every field is optional on the wire.
 * @typedef {Omit<import('./protocol.js').StartMessage, 'type'>} StartOptions
 */

/**
 * Any JSON message from the server; its `type` may be one this client does not know.
 * @typedef {import('./protocol.js').ServerMessage | {type: string, [key: string]: any}} ServerMessage
 */

/**
 * How the socket closed.
 * @typedef {Object} CloseInfo
 * @property {number} code
 * @property {string} reason
 * @property {boolean} wasClean
 * @property {boolean} opened         whether the socket ever opened
 * @property {boolean} byClient       whether we closed it (stop timeout, page leaving, restart)
 * @property {boolean} timedOut       the connection attempt timed out
 */

/**
 * Websocket URL of this page's server, carrying ?key= along when the page has it.
 * @param {{protocol: string, host: string, search: string}} [loc]
 * @returns {string}
 */
export function buildWsUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = new URLSearchParams(loc.search).get('key');
  return `${scheme}//${loc.host}/ws${key ? `?key=${encodeURIComponent(key)}` : ''}`;
}

/**
 * One protocol session over one WebSocket.
 */
export class VivaConnection {
  /**
   * @param {string} url
   * @param {{
   *   onOpen?: () => void,
   *   onMessage: (msg: ServerMessage) => void,
   *   onAudio: (data: ArrayBuffer) => void,
   *   onClose: (info: CloseInfo) => void,
   *   onProtocolError?: (detail: string) => void,
   * }} handlers
   * @param {{connectTimeoutMs?: number, maxBufferedBytes?: number}} [opts]
   */
  constructor(url, handlers, opts = {}) {
    this.url = url;
    this.handlers = handlers;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    /** Above this much unsent data we drop microphone frames instead of queueing without bound. */
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    /** @type {WebSocket | null} */ this.ws = null;
    this.opened = false;
    this.started = false;
    this.closed = false;
    this.byClient = false;
    this.timedOut = false;
    /** Microphone frames dropped because the socket was backed up. */
    this.droppedAudioFrames = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */ this.connectTimer = null;
  }

  /**
   * Open the socket and send `start` as the first message once it is open.
   * @param {StartOptions} startOptions
   */
  connect(startOptions) {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.connectTimer = setTimeout(() => {
      if (!this.opened && !this.closed) {
        this.timedOut = true;
        this.byClient = true;
        try { ws.close(); } catch { /* ignore */ }
        // Some browsers delay onclose for a dead TCP connect; report now.
        this.finish({ code: 1006, reason: 'connect timeout', wasClean: false });
      }
    }, this.connectTimeoutMs);

    ws.onopen = () => {
      if (this.closed) return;
      this.opened = true;
      this.clearTimer();
      // `start` must be the first message; anything else first gets not_started.
      this.started = this.sendJson({ type: ClientType.START, ...startOptions });
      if (this.handlers.onOpen) this.handlers.onOpen();
    };
    ws.onmessage = (ev) => {
      if (this.closed) return;
      if (typeof ev.data === 'string') {
        /** @type {unknown} */ let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          if (this.handlers.onProtocolError) this.handlers.onProtocolError('server sent a text frame that is not JSON');
          return;
        }
        if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof (/** @type {any} */ (msg).type) !== 'string') {
          if (this.handlers.onProtocolError) this.handlers.onProtocolError('server sent a message without a type');
          return;
        }
        this.handlers.onMessage(/** @type {ServerMessage} */ (msg));
      } else if (ev.data instanceof ArrayBuffer) {
        this.handlers.onAudio(ev.data);
      }
    };
    // onerror carries no detail in browsers; onclose always follows it.
    ws.onerror = () => {};
    ws.onclose = (ev) => this.finish({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
  }

  /** @param {{code: number, reason: string, wasClean: boolean}} ev */
  finish(ev) {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.handlers.onClose({
      code: ev.code,
      reason: ev.reason || '',
      wasClean: ev.wasClean,
      opened: this.opened,
      byClient: this.byClient,
      timedOut: this.timedOut,
    });
  }

  clearTimer() {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  /** @returns {boolean} the socket is open and `start` has gone out */
  get live() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN && this.started && !this.closed;
  }

  /**
   * Send one JSON message.
   * @param {{type: string, [key: string]: any}} msg
   * @returns {boolean} whether it was handed to the socket
   */
  sendJson(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /**
   * Send one binary microphone frame; dropped (and counted) while the socket is
   * backed up, so a stalled network cannot grow memory without bound.
   * @param {ArrayBuffer} pcm
   * @returns {boolean} whether it was sent
   */
  sendAudio(pcm) {
    if (!this.live) return false;
    if (pcm.byteLength === 0 || pcm.byteLength % 2 === 1 || pcm.byteLength > MAX_FRAME_BYTES) return false;
    if (/** @type {WebSocket} */ (this.ws).bufferedAmount > this.maxBufferedBytes) {
      this.droppedAudioFrames++;
      return false;
    }
    /** @type {WebSocket} */ (this.ws).send(pcm);
    return true;
  }

  /** @param {string} text a typed answer; @returns {boolean} */
  sendText(text) {
    return this.sendJson({ type: ClientType.TEXT, text: text.slice(0, MAX_TEXT_CHARS) });
  }

  /** @param {string} name one of the Command values; @returns {boolean} */
  sendCommand(name) {
    return this.sendJson({ type: ClientType.COMMAND, name });
  }

  /** @returns {boolean} */
  sendEndTurn() {
    return this.sendJson({ type: ClientType.END_TURN });
  }

  /** @returns {boolean} */
  sendInterrupt() {
    return this.sendJson({ type: ClientType.INTERRUPT });
  }

  /** Ask the server to end the session; it answers with `summary` and closes 1000. @returns {boolean} */
  sendStop() {
    return this.sendJson({ type: ClientType.STOP });
  }

  /**
   * Close from our side (e.g. the server did not close after `stop`).
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = 1000, reason = 'client closing') {
    this.byClient = true;
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) {
      try { this.ws.close(code, reason); } catch { /* ignore */ }
    }
  }
}

// viva microphone capture worklet.
//
// Runs on the audio rendering thread. It takes whatever rate the AudioContext
// runs at (usually 44100 or 48000 Hz), resamples it to 16000 Hz with a
// band-limited (windowed-sinc) filter, converts to PCM signed 16-bit
// little-endian and posts 20 ms frames (320 samples) to the main thread.
//
// Why a real filter and not "keep every third sample": dropping samples folds
// everything between 8 kHz and the input Nyquist frequency (fricatives, keyboard
// clicks, fan noise) back into the speech band, which hurts both the server's
// VAD and the recogniser. The sinc kernel below low-passes and interpolates in
// one pass and copes with non-integer ratios such as 44100 -> 16000.
//
// The file is loaded with audioWorklet.addModule(), i.e. as an ES module, so
// the Resampler can also be imported by unit tests outside a browser.

/** Number of sinc zero crossings on each side of the kernel centre. */
const ZERO_CROSSINGS = 16;
/** Cutoff as a fraction of the lower Nyquist frequency; leaves room for the transition band. */
const ROLLOFF = 0.85;
/** Kernel table resolution: entries per input sample. */
const TABLE_RES = 128;

/**
 * Streaming band-limited resampler for mono float audio.
 *
 * Output sample n sits at input position n * inRate / outRate. Each output is
 * the Blackman-windowed sinc kernel (cutoff below min(inRate, outRate) / 2)
 * applied around that position, normalised by the sum of the weights so the
 * DC gain is exactly 1 whatever the fractional phase.
 */
export class Resampler {
  /**
   * @param {number} inRate  input sample rate in Hz
   * @param {number} outRate output sample rate in Hz
   */
  constructor(inRate, outRate) {
    if (!(inRate > 0) || !(outRate > 0)) throw new RangeError('sample rates must be positive');
    /** @type {number} */ this.inRate = inRate;
    /** @type {number} */ this.outRate = outRate;
    /** Input samples advanced per output sample. */
    this.step = inRate / outRate;
    /** Passthrough when the rates already match: no filtering, no delay. */
    this.identity = inRate === outRate;
    // Cutoff in cycles per input sample.
    const fc = 0.5 * Math.min(1, outRate / inRate) * ROLLOFF;
    /** Kernel half width in input samples. */
    this.halfWidth = ZERO_CROSSINGS / (2 * fc);
    const n = Math.ceil(this.halfWidth * TABLE_RES) + 2;
    /** @type {Float32Array} kernel sampled at 1/TABLE_RES input-sample steps from 0 to halfWidth */
    this.table = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / TABLE_RES;
      if (t >= this.halfWidth) { this.table[i] = 0; continue; }
      const x = 2 * fc * t;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = t / this.halfWidth; // 0..1 from the centre outwards
      const win = 0.42 + 0.5 * Math.cos(Math.PI * r) + 0.08 * Math.cos(2 * Math.PI * r);
      this.table[i] = sinc * win;
    }
    const pad = Math.ceil(this.halfWidth) + 1;
    /** Pending input, starting with `pad` zeros of history so the first outputs have a left context. */
    this.buf = new Float32Array(4096);
    this.len = pad;
    /** Fractional index in `buf` of the next output sample. */
    this.pos = pad;
  }

  /**
   * Kernel value at distance |t| (input samples) from the centre, linearly
   * interpolated from the table.
   * @param {number} t
   * @returns {number}
   */
  kernel(t) {
    const x = (t < 0 ? -t : t) * TABLE_RES;
    const i = x | 0;
    const f = x - i;
    const tab = this.table;
    if (i + 1 >= tab.length) return 0;
    return tab[i] + (tab[i + 1] - tab[i]) * f;
  }

  /**
   * Feed input samples; calls `emit` once per output sample produced.
   * @param {Float32Array} input
   * @param {(sample: number) => void} emit
   */
  push(input, emit) {
    if (this.identity) {
      for (let i = 0; i < input.length; i++) emit(input[i]);
      return;
    }
    this.append(input);
    const buf = this.buf;
    const hw = this.halfWidth;
    let pos = this.pos;
    for (;;) {
      const last = Math.floor(pos + hw);
      if (last >= this.len) break; // right context not arrived yet
      let acc = 0;
      let wsum = 0;
      for (let i = Math.ceil(pos - hw); i <= last; i++) {
        const w = this.kernel(i - pos);
        acc += buf[i] * w;
        wsum += w;
      }
      emit(wsum !== 0 ? acc / wsum : 0);
      pos += this.step;
    }
    // Drop input that no future output can reach, keeping indices small so
    // the fractional position stays precise over hours of audio.
    const drop = Math.ceil(pos - hw) - 1;
    if (drop > 0) {
      buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      pos -= drop;
    }
    this.pos = pos;
  }

  /** @param {Float32Array} input */
  append(input) {
    if (this.len + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
  }
}

/**
 * Collects resampled floats into fixed-size PCM16 LE frames.
 */
export class FrameBuilder {
  /**
   * @param {number} frameSamples samples per frame (320 = 20 ms at 16 kHz)
   * @param {(pcm: ArrayBuffer, rms: number) => void} onFrame
   */
  constructor(frameSamples, onFrame) {
    this.frameSamples = frameSamples;
    this.onFrame = onFrame;
    this.reset();
  }

  reset() {
    /** @type {ArrayBuffer} */ this.buffer = new ArrayBuffer(this.frameSamples * 2);
    /** @type {DataView} */ this.view = new DataView(this.buffer);
    this.count = 0;
    this.sumSquares = 0;
  }

  /** @param {number} s float sample, nominally in [-1, 1] */
  add(s) {
    if (s > 1) s = 1;
    else if (s < -1) s = -1;
    else if (s !== s) s = 0; // NaN guard: never send garbage to the server
    this.sumSquares += s * s;
    // DataView with littleEndian=true: the wire format is LE whatever the host.
    this.view.setInt16(this.count * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
    this.count++;
    if (this.count === this.frameSamples) {
      const rms = Math.sqrt(this.sumSquares / this.frameSamples);
      const out = this.buffer;
      this.reset();
      this.onFrame(out, rms);
    }
  }
}

if (typeof AudioWorkletProcessor !== 'undefined' && typeof registerProcessor === 'function') {
  /**
   * processorOptions: { targetRate?: number, frameSamples?: number }
   * Posts {type: 'frame', pcm: ArrayBuffer, rms: number} (pcm transferred)
   * and once {type: 'ready', inputRate, targetRate}.
   */
  class VivaMicProcessor extends AudioWorkletProcessor {
    /** @param {{processorOptions?: {targetRate?: number, frameSamples?: number}}} options */
    constructor(options) {
      super();
      const opts = (options && options.processorOptions) || {};
      const targetRate = opts.targetRate || 16000;
      const frameSamples = opts.frameSamples || 320;
      // `sampleRate` is a global of AudioWorkletGlobalScope: the context's rate.
      this.resampler = new Resampler(sampleRate, targetRate);
      this.mono = new Float32Array(128);
      this.frames = new FrameBuilder(frameSamples, (pcm, rms) => {
        this.port.postMessage({ type: 'frame', pcm, rms }, [pcm]);
      });
      this.emit = (s) => this.frames.add(s);
      this.running = true;
      this.port.onmessage = (ev) => {
        if (ev.data && ev.data.type === 'stop') this.running = false;
      };
      this.port.postMessage({ type: 'ready', inputRate: sampleRate, targetRate });
    }

    /**
     * @param {Float32Array[][]} inputs
     * @returns {boolean}
     */
    process(inputs) {
      if (!this.running) return false;
      const input = inputs[0];
      // No connected input yet (or the track ended): keep the node alive.
      if (!input || input.length === 0 || !input[0]) return true;
      const n = input[0].length;
      if (this.mono.length !== n) this.mono = new Float32Array(n);
      const mono = this.mono;
      if (input.length === 1) {
        mono.set(input[0]);
      } else {
        // Average the channels: some devices deliver stereo even when asked for mono.
        mono.fill(0);
        for (let c = 0; c < input.length; c++) {
          const ch = input[c];
          for (let i = 0; i < n; i++) mono[i] += ch[i];
        }
        const k = 1 / input.length;
        for (let i = 0; i < n; i++) mono[i] *= k;
      }
      this.resampler.push(mono, this.emit);
      return true;
    }
  }

  registerProcessor('viva-mic', VivaMicProcessor);
}

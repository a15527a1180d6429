// The decoder's output type and its one error type, shared by wav.ts, decode.ts and their callers.

/** Decoded audio: one Float32Array per channel (planar), nominally in [-1, 1), all the same length. */
export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
  /** max |sample| over every channel, when the decoder measured it on the way (all samples are then finite). */
  peak?: number;
}

/**
 * A file that cannot be decoded: hostile, truncated, corrupt or unsupported. `message` is a one-line
 * reason that names the format ("truncated FLAC: …"); the engine records it as an ItemError.
 */
export class DecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DecodeError";
  }
}

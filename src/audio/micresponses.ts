// Bundled device / microphone frequency responses for the `micresponse` op. Each is a short
// cascade of biquads (src/audio/biquad.ts): Butterworth high/low-pass edges for the capsule's and
// the device's band limits, peaking sections for the resonances of small capsules and ports,
// shelves for tilts. They are shaped after the general character of each kind of device (a
// small-capsule presence peak, a boxy laptop chassis, a band-limited handset), not measurements of
// any product. Their magnitude at 16 kHz is tabulated in data/mic-responses/README.md (written by
// data/mic-responses/generate.mjs from these definitions) and test/channel-mic.test.ts checks the
// op against that table. A section at or above 0.45 x the sample rate is left out (at 16 kHz:
// none is).
import { butterworthQs, rbjBiquad, type Biquad, type BiquadType } from "./biquad.js";

export interface ResponseSection {
  type: BiquadType;
  hz: number;
  /** Q of a single section; for a Butterworth edge give `order` instead. */
  q?: number;
  /** Even Butterworth order of a lowpass/highpass edge. */
  order?: number;
  gainDb?: number;
}

export interface MicResponse {
  name: string;
  description: string;
  sections: ResponseSection[];
}

export const MIC_RESPONSES: Readonly<Record<string, MicResponse>> = {
  phone_handset: {
    name: "phone_handset",
    description: "Handset capsule of a fixed-line phone: 200 Hz high-pass, +4 dB presence at 2.5 kHz, steep roll-off above 3.8 kHz.",
    sections: [
      { type: "highpass", hz: 200, order: 2 },
      { type: "peaking", hz: 2500, q: 1.2, gainDb: 4 },
      { type: "lowpass", hz: 3800, order: 4 },
    ],
  },
  laptop_builtin: {
    name: "laptop_builtin",
    description: "Laptop built-in microphone: thin bass (180 Hz high-pass), a -5 dB chassis dip at 450 Hz, a sharp +6 dB port resonance at 4.2 kHz, roll-off above 7 kHz.",
    sections: [
      { type: "highpass", hz: 180, order: 2 },
      { type: "peaking", hz: 450, q: 1.0, gainDb: -5 },
      { type: "peaking", hz: 4200, q: 2.0, gainDb: 6 },
      { type: "lowpass", hz: 7000, order: 2 },
    ],
  },
  headset_boom: {
    name: "headset_boom",
    description: "Boom microphone of a headset: 100 Hz high-pass, +3 dB at 3 kHz, -4 dB shelf above 6 kHz.",
    sections: [
      { type: "highpass", hz: 100, order: 2 },
      { type: "peaking", hz: 3000, q: 1.0, gainDb: 3 },
      { type: "highshelf", hz: 6000, q: Math.SQRT1_2, gainDb: -4 },
    ],
  },
  smartphone_mems: {
    name: "smartphone_mems",
    description: "Bottom MEMS microphone of a smartphone: 90 Hz high-pass, -3 dB low shelf below 250 Hz, bright +5 dB peak at 5.5 kHz.",
    sections: [
      { type: "highpass", hz: 90, order: 2 },
      { type: "lowshelf", hz: 250, q: Math.SQRT1_2, gainDb: -3 },
      { type: "peaking", hz: 5500, q: 1.5, gainDb: 5 },
    ],
  },
  cheap_usb: {
    name: "cheap_usb",
    description: "Inexpensive USB microphone: 280 Hz high-pass (4th order), a resonant +8 dB peak at 2 kHz, 5 kHz low-pass (4th order).",
    sections: [
      { type: "highpass", hz: 280, order: 4 },
      { type: "peaking", hz: 2000, q: 2.5, gainDb: 8 },
      { type: "lowpass", hz: 5000, order: 4 },
    ],
  },
  speakerphone: {
    name: "speakerphone",
    description: "Conference speakerphone: 350 Hz high-pass (4th order), +6 dB at 1.5 kHz, -4 dB notch-like dip at 3 kHz, 4.5 kHz low-pass (4th order).",
    sections: [
      { type: "highpass", hz: 350, order: 4 },
      { type: "peaking", hz: 1500, q: 1.4, gainDb: 6 },
      { type: "peaking", hz: 3000, q: 2.0, gainDb: -4 },
      { type: "lowpass", hz: 4500, order: 4 },
    ],
  },
};

export const MIC_RESPONSE_NAMES = Object.keys(MIC_RESPONSES) as [string, ...string[]];

/** The biquads of a response at `sampleRate`. */
export function micResponseSections(name: string, sampleRate: number): Biquad[] {
  const r = MIC_RESPONSES[name];
  if (!r) throw new RangeError(`unknown mic response "${name}"`);
  const out: Biquad[] = [];
  for (const s of r.sections) {
    if (s.hz >= 0.45 * sampleRate) continue;
    if (s.order) for (const q of butterworthQs(s.order)) out.push(rbjBiquad(s.type, s.hz, q, sampleRate));
    else out.push(rbjBiquad(s.type, s.hz, s.q ?? Math.SQRT1_2, sampleRate, s.gainDb ?? 0));
  }
  return out;
}

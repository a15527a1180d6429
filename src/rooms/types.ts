// The room simulator's boundary type: a RoomSpec is plain JSON holding every number the simulation
// reads, so a spec recorded in a plan or in a bank's metadata.jsonl reproduces the same RIR, bit for
// bit, on any machine (simulateRoom is a pure function of it; the late tail's noise comes from the
// project's counter-based Rng keyed by `seed`).

/** A point in the room, metres, [x, y, z]; the room spans [0, dims_m[i]] on each axis, z up. */
export type Vec3 = [number, number, number];

/**
 * Walls in this order everywhere: [x = 0, x = Lx, y = 0, y = Ly, z = 0 (floor), z = Lz (ceiling)],
 * the order of Allen & Berkley's β_x1, β_x2, β_y1, β_y2, β_z1, β_z2 and of gpuRIR's `beta`.
 */
export const WALL_NAMES = ["x0", "x1", "y0", "y1", "floor", "ceiling"] as const;

/** Octave-band centres used when per-band absorption gives none (ISO 3382 / Sabine tables). */
export const DEFAULT_BANDS_HZ = [125, 250, 500, 1000, 2000, 4000];

/**
 * Energy absorption coefficients α in [0, 1] (the fraction of incident energy a wall does not
 * reflect; pressure reflection β = sqrt(1 - α)).
 * - a number: every wall, every frequency;
 * - six numbers: per wall, in WALL_NAMES order;
 * - per octave band: `bands_hz` centres and `values`, either one α per band (every wall) or six
 *   rows (walls) of one α per band.
 */
export type Absorption =
  | number
  | number[]
  | {
      bands_hz: number[];
      values: number[] | number[][];
    };

/**
 * First-order polar patterns, gain g(θ) = a + (1 - a) cos θ with θ the angle between the mic's
 * axis and the direction a sound arrives from: omni a = 1, subcardioid 0.75, cardioid 0.5,
 * hypercardioid 0.25, figure8 0 (rear lobe with inverted polarity, as a real pressure-gradient mic).
 */
export type DirectivityPattern = "omni" | "subcardioid" | "cardioid" | "hypercardioid" | "figure8";

export interface MicDirectivity {
  pattern: DirectivityPattern;
  /** Axis azimuth in the horizontal plane, degrees from +x towards +y. */
  azimuth_deg: number;
  /** Axis elevation, degrees above the horizontal plane. */
  elevation_deg: number;
}

export interface RoomSpec {
  /** Room size [Lx, Ly, Lz] in metres (shoebox). */
  dims_m: Vec3;
  absorption: Absorption;
  /** Omnidirectional point source. */
  source_m: Vec3;
  /** One or more microphones; the simulation returns one RIR per mic, in this order. */
  mics_m: Vec3[];
  /** One pattern for every mic, or one per mic; absent = omni. */
  directivity?: MicDirectivity | MicDirectivity[];
  /** Hz. */
  sample_rate: number;
  /** Speed of sound, m/s (343 at about 20 °C). */
  c_m_s: number;
  /**
   * Highest reflection order simulated by image sources (absent = no order limit). With the tail on,
   * leave it unset: the tail's level is matched to the images just before the transition, and an
   * order limit that removes them starves the tail.
   */
  max_order?: number;
  /** Image sources arriving later than this (s) are left out (absent = no time limit). */
  max_time_s?: number;
  /**
   * Time (s) after which image sources stop and the statistical tail takes over; null or absent =
   * no tail (pure image-source RIR up to max_order / max_time_s / length_s).
   */
  transition_s?: number | null;
  /** Length of the returned RIRs in seconds (rounded up to whole samples). */
  length_s: number;
  /** Allen–Berkley DC-removing high-pass cutoff in Hz (their 1979 appendix; 0 or null = off). */
  highpass_hz?: number | null;
  /** 32-bit seed of the late tail's noise (drawn by the planner). */
  seed: number;
  /** The RT60 (s) the absorption was chosen for, if any: recorded, never used by the simulation. */
  rt60_s?: number;
}

/** Default Allen–Berkley high-pass cutoff: 100 Hz, 1% of their 10 kHz rate, as in Habets' rir_generator. */
export const DEFAULT_HIGHPASS_HZ = 100;
export const DEFAULT_C_M_S = 343;

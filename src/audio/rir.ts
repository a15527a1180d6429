// Plain facts about room impulse responses that ops and measurements share.

/**
 * Index of the direct-path arrival: the first local maximum of |h| that reaches half the global
 * peak. The global peak alone can be a strong early reflection in far-field RIRs; a band-limited
 * direct path's sinc sidelobes stay below 0.22 of its peak, so half the peak never fires early.
 */
export function directPathIndex(h: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < h.length; i++) peak = Math.max(peak, Math.abs(h[i]));
  if (peak === 0) return 0;
  const threshold = 0.5 * peak;
  for (let i = 0; i < h.length; i++) {
    const a = Math.abs(h[i]);
    if (a >= threshold && (i + 1 >= h.length || a >= Math.abs(h[i + 1]))) return i;
  }
  return 0;
}

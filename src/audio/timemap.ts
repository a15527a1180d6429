// Monotonic piecewise-linear time maps: how a time-changing kernel moves every instant of its
// input. The kernels read them backwards (which input time feeds output time u) and the label
// code forwards (where does a word that started at input time t start now), so one object serves
// both and labels move exactly as the audio does.

export class PiecewiseLinearMap {
  /**
   * @param inputS knot times in the input (s), strictly increasing, inputS[0] = 0
   * @param outputS knot times in the output (s), strictly increasing, outputS[0] = 0
   * Past the last knot the map goes on with the last segment's slope; before 0 with the first's.
   */
  constructor(
    readonly inputS: Float64Array,
    readonly outputS: Float64Array,
  ) {
    if (inputS.length !== outputS.length || inputS.length < 2) throw new RangeError("a time map needs two or more knots of equal count");
    for (let i = 1; i < inputS.length; i++) {
      if (!(inputS[i] > inputS[i - 1]) || !(outputS[i] > outputS[i - 1])) throw new RangeError("time map knots must increase strictly");
    }
  }

  /** Constant rate: output time = input time / factor (tempo or speed factor `factor`). */
  static linear(factor: number): PiecewiseLinearMap {
    return new PiecewiseLinearMap(Float64Array.of(0, 1), Float64Array.of(0, 1 / factor));
  }

  private static evaluate(from: Float64Array, to: Float64Array, t: number): number {
    const n = from.length;
    let i: number;
    if (t <= from[1]) i = 0;
    else if (t >= from[n - 2]) i = n - 2;
    else {
      // Largest i with from[i] <= t (binary search).
      let lo = 1;
      let hi = n - 2;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (from[mid] <= t) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    }
    return to[i] + ((t - from[i]) * (to[i + 1] - to[i])) / (from[i + 1] - from[i]);
  }

  /** Output time (s) of input time `tS`. */
  forward(tS: number): number {
    return PiecewiseLinearMap.evaluate(this.inputS, this.outputS, tS);
  }

  /** Input time (s) heard at output time `uS`. */
  inverse(uS: number): number {
    return PiecewiseLinearMap.evaluate(this.outputS, this.inputS, uS);
  }
}

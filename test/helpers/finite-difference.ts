/**
 * The independent oracle for gradient tests: central finite differences of a float64 function
 * written directly in TypeScript (not through the graph), one parameter element at a time.
 */
export function finiteDifference(
  f: (params: Float64Array[]) => number,
  params: Float64Array[],
  eps = 1e-5,
): Float64Array[] {
  return params.map((p) => {
    const grad = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const original = p[i] as number;
      p[i] = original + eps;
      const up = f(params);
      p[i] = original - eps;
      const down = f(params);
      p[i] = original;
      grad[i] = (up - down) / (2 * eps);
    }
    return grad;
  });
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: { atol: number; rtol: number },
  what: string,
): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= tolerance.atol + tolerance.rtol * Math.abs(e))) {
      throw new Error(
        `${what}[${i}]: ${a} differs from expected ${e} beyond atol ${tolerance.atol}, rtol ${tolerance.rtol}`,
      );
    }
  }
}

/** Deterministic pseudo-random values in [-1, 1) for test inputs. */
export function randomValues(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

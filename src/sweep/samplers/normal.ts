/**
 * The standard normal's CDF and its inverse, for TPE's truncated Gaussian kernels. `erfc` is
 * W. J. Cody's rational approximation (as in SciPy's `ndtr`, relative error < 1e-15); `ndtri` is
 * Acklam's approximation refined by one Halley step, which brings it to full double precision.
 */

const SQRT2 = Math.SQRT2;

/** Complementary error function, accurate in both tails. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 2 / (2 + z);
  const ty = 4 * t - 2;
  const coefficients = [
    -1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3,
    -9.46595344482036e-4, 3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5,
    -1.624290004647e-6, 1.30365583558e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9,
    5.059343495e-9, -9.91364156e-10, -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12,
    8.94487e-13, 3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16,
    -2.8e-17,
  ];
  let d = 0;
  let dd = 0;
  for (let j = coefficients.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + (coefficients[j] as number);
    dd = tmp;
  }
  const value = t * Math.exp(-z * z + 0.5 * ((coefficients[0] as number) + ty * d) - dd);
  return x >= 0 ? value : 2 - value;
}

/** P(Z <= x) for a standard normal Z. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

/** log P(Z <= x), without underflow far in the left tail. */
export function logNormalCdf(x: number): number {
  if (x > -20) return Math.log(normalCdf(x));
  // Mills-ratio asymptotic series: log(phi(x)/|x| * (1 - 1/x^2 + 3/x^4 - 15/x^6)).
  const x2 = x * x;
  return (
    -0.5 * x2 -
    0.5 * Math.log(2 * Math.PI) -
    Math.log(-x) +
    Math.log(1 - 1 / x2 + 3 / (x2 * x2) - 15 / (x2 * x2 * x2))
  );
}

export function logNormalPdf(x: number): number {
  return -0.5 * x * x - 0.5 * Math.log(2 * Math.PI);
}

const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
  -3.066479806614716e1, 2.506628277459239,
];
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
  -1.328068155288572e1,
];
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

function poly(c: readonly number[], x: number): number {
  return c.reduce((acc, k) => acc * x + k, 0);
}

/** The x with P(Z <= x) = p, for p in (0, 1). */
export function ndtri(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = poly(C, q) / (poly(D, q) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = (poly(A, r) * q) / (poly(B, r) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -poly(C, q) / (poly(D, q) * q + 1);
  }
  // One Halley step on Phi(x) - p.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * The precisions a frozen network can run in: the one list the CLI flags, the training config
 * and the reports share. `int8` is a request: it is used only when the accuracy guard passes
 * (src/engine/int8/prepare.ts), otherwise vggkit runs fp32 and says why.
 */
import { oneOf } from '../util/errors.js';

export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function parsePrecision(name: string, value: unknown): Precision {
  return oneOf(name, PRECISIONS, value);
}

/** Images sampled to calibrate the int8 scales (all of them when there are fewer). */
export const DEFAULT_CALIBRATION_IMAGES = 256;
/**
 * Images, disjoint from the calibration sample, on which int8 is compared with fp32: 128 lets the
 * 99% top-1 threshold tolerate one disagreement.
 */
export const DEFAULT_HELD_OUT_IMAGES = 128;

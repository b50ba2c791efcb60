/**
 * What the commands that run a frozen network share about precision: reading `--precision` and
 * `--calibration-images`, progress bars while int8 calibrates and checks, and one line on stderr
 * with the decision and its figures. Light: predict's fp32 path imports it.
 */
import { describeInt8 } from '../../engine/int8/describe.js';
import type { Int8Report } from '../../engine/int8/prepare.js';
import type { PrecisionRequest } from '../../engine/precision-graph.js';
import {
  DEFAULT_CALIBRATION_IMAGES,
  parsePrecision,
  type Precision,
} from '../../model/precision.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { type PrecisionFlags, parseInteger } from '../common.js';

export function parsePrecisionFlags(flags: PrecisionFlags): {
  readonly precision: Precision;
  readonly calibrationImages: number;
} {
  return {
    precision: parsePrecision('--precision', flags.precision ?? 'fp32'),
    calibrationImages: parseInteger(
      '--calibration-images',
      flags.calibrationImages,
      DEFAULT_CALIBRATION_IMAGES,
    ),
  };
}

/** A bar per int8 phase (calibrating, checking) on stderr. */
export class Int8Progress {
  private bar: Progress | undefined;
  private phase = '';

  constructor(private readonly json: boolean) {}

  readonly update: NonNullable<PrecisionRequest['onProgress']> = (phase, done, total) => {
    if (phase !== this.phase) {
      this.bar?.stop();
      this.phase = phase;
      this.bar = createProgress({ label: `int8 ${phase}`, total, unit: 'img', json: this.json });
    }
    this.bar?.update(done);
  };

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

export function reportInt8(report: Int8Report | undefined): void {
  if (report !== undefined) process.stderr.write(`vggkit: ${describeInt8(report)}\n`);
}

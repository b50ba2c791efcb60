/**
 * What predict and extract share: option parsing that raises UsageErrors (inside runCommand, so
 * they print as one line with exit code 2) and the contract override with its warnings on stderr.
 * Light on purpose: command declarations import it (see run-command.ts).
 */
import type { Command } from 'commander';
import { COSINE_THRESHOLD, TOP1_THRESHOLD } from '../engine/int8/guard.js';
import { DEFAULT_CALIBRATION_IMAGES, PRECISIONS } from '../model/precision.js';
import { invalidOption } from '../util/errors.js';

export interface ContractFlags {
  readonly preprocess?: string;
  readonly resize?: string;
  readonly interpolation?: string;
}

export interface CommonFlags extends ContractFlags {
  readonly offline?: boolean;
  readonly json?: boolean;
}

/** Adds the flags every command that reads images takes. */
export function addImageOptions(command: Command): Command {
  return command
    .option(
      '--preprocess <mode>',
      "override the weights' preprocessing: caffe, torch, tf, none (warns when it contradicts them)",
    )
    .option('--resize <mode>', "override the weights' resize mode: stretch, center-crop, pad")
    .option(
      '--interpolation <kind>',
      'override the interpolation: bilinear, nearest, bicubic, lanczos',
    )
    .option('--offline', 'never use the network; weights must already be in the cache')
    .option('--json', 'print results as JSON on stdout');
}

export interface PrecisionFlags {
  readonly precision?: string;
  readonly calibrationImages?: string;
}

/** `--precision` and `--calibration-images`, for every command that runs a frozen network. */
export function addPrecisionOptions(command: Command): Command {
  return command
    .option(
      '--precision <kind>',
      `${PRECISIONS.join(' or ')}; int8 runs the convolutions in 8 bits, calibrated on a sample of these images, and only if it agrees with fp32 on held-out ones (feature cosine >= ${COSINE_THRESHOLD}, top-1 agreement >= ${100 * TOP1_THRESHOLD}%); otherwise fp32, saying why`,
      'fp32',
    )
    .option(
      '--calibration-images <n>',
      'images int8 calibrates on (a seeded sample; all of them when fewer)',
      String(DEFAULT_CALIBRATION_IMAGES),
    );
}

export function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min)
    throw invalidOption(name, `an integer >= ${min}`, value);
  return n;
}

/** The contract flags as the library's overrides (unset flags left out). */
export function contractFlags(flags: ContractFlags): ContractFlags {
  return {
    ...(flags.preprocess === undefined ? {} : { preprocess: flags.preprocess }),
    ...(flags.resize === undefined ? {} : { resize: flags.resize }),
    ...(flags.interpolation === undefined ? {} : { interpolation: flags.interpolation }),
  };
}

/** The contract's assumption (a note) and every override that contradicts it (warnings), on stderr. */
export function printContractNotes(opened: {
  readonly assumption: string | undefined;
  readonly notes?: readonly string[];
  readonly warnings: readonly string[];
}): void {
  if (opened.assumption !== undefined) process.stderr.write(`vggkit: note: ${opened.assumption}\n`);
  for (const note of opened.notes ?? []) process.stderr.write(`vggkit: note: ${note}\n`);
  for (const warning of opened.warnings) process.stderr.write(`vggkit: warning: ${warning}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

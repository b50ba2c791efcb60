/** Defaults the CLI's declarations show in --help: kept apart from the modules that load ONNX Runtime. */

/** `--parallel`'s default for local worker processes (bench/sweep.ts measures 1 against 2). */
export const DEFAULT_PARALLEL = 1;

/**
 * Reading a training config from disk: a `--config` file (train, doctor, sweep) or a run folder's
 * config.json (resume). The file is a JSON object of settings, partial or complete, checked by
 * the schema over `base`; `raw` is the object as written, for the doctor's `--fix-config`, which
 * patches what the user wrote rather than the expanded config.
 */
import { readFile } from 'node:fs/promises';
import { USAGE_EXIT_CODE, UsageError, VggkitError } from '../util/errors.js';
import { DEFAULT_CONFIG, type TrainConfig } from './config.js';
import { parseTrainConfig } from './config-schema.js';

export interface ConfigFile {
  readonly config: TrainConfig;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface ReadConfigOptions {
  /** The config the file's keys override (DEFAULT_CONFIG). */
  readonly base?: TrainConfig;
  /** What a missing file means here: the message after `file: `, and the exit code. */
  readonly missing?: { readonly message: (reason: string) => string; readonly exitCode: number };
}

/** A `--config` flag naming a file that is not there is an unreadable input (errors.ts USAGE_EXIT_CODE). */
const MISSING_CONFIG_FLAG = {
  message: (reason: string) => `cannot read the --config file (${reason})`,
  exitCode: USAGE_EXIT_CODE,
};

export async function readTrainConfigFile(
  file: string,
  options: ReadConfigOptions = {},
): Promise<ConfigFile> {
  const json = await readConfigJson(file, options);
  const config = parseTrainConfig(json, file, options.base ?? DEFAULT_CONFIG);
  return { config, raw: json as Record<string, unknown> };
}

/** The file's JSON, not yet checked: sweep takes its `search` object out before the schema sees it. */
export async function readConfigJson(
  file: string,
  options: Pick<ReadConfigOptions, 'missing'> = {},
): Promise<unknown> {
  const missing = options.missing ?? MISSING_CONFIG_FLAG;
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new VggkitError('NOT_FOUND', `${file}: ${missing.message((cause as Error).message)}`, {
      file,
      cause,
      exitCode: missing.exitCode,
    });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new UsageError(
      'CONFIG_FORMAT',
      `${file}: expected a JSON object of training settings, received invalid JSON (${(cause as Error).message})`,
      { file, cause },
    );
  }
  return json;
}

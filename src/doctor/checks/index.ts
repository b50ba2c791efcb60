/** Every doctor check, by family, listed explicitly (no registration by import side effect). */
import type { Check } from '../types.js';
import { CONFIG_CHECKS } from './config.js';
import { DATA_CHECKS } from './data.js';
import { DYNAMICS_CHECKS } from './dynamics.js';
import { FIX_CHECKS } from './fix.js';
import { KERAS_CHECKS } from './keras.js';
import { NEIGHBOUR_CHECKS } from './neighbours.js';
import { PREPROCESSING_CHECKS } from './preprocessing.js';
import { PROBE_CHECKS } from './probes.js';

export const CHECK_FAMILIES = {
  preprocessing: PREPROCESSING_CHECKS,
  data: DATA_CHECKS,
  config: CONFIG_CHECKS,
  keras: KERAS_CHECKS,
  dynamics: DYNAMICS_CHECKS,
  probe: PROBE_CHECKS,
  neighbours: NEIGHBOUR_CHECKS,
  fix: FIX_CHECKS,
} as const satisfies Record<string, readonly Check[]>;

/** In report order of importance: a wrong input invalidates everything after it. */
export const ALL_CHECKS: readonly Check[] = Object.values(CHECK_FAMILIES).flat();

export const ALL_IDS: readonly string[] = [...new Set(ALL_CHECKS.flatMap((c) => c.ids))];

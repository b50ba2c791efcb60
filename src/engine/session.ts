/**
 * ONNX Runtime sessions: one place that sets threads and graph options, converts vggkit tensors to
 * ORT tensors and back. Sessions are created once and reused for every batch.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Float32Tensor } from '../util/tensor.js';

/**
 * Intra-op threads when a caller names none: `VGGKIT_THREADS` if set (a sweep's worker processes
 * divide the cores among themselves through it), else every core.
 */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.VGGKIT_THREADS);
  return Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : availableParallelism();
}

export interface SessionOptions {
  /** Intra-op threads; defaults to defaultThreads(). */
  readonly threads?: number;
  /**
   * Whether idle intra-op threads busy-wait for the next kernel (ORT's default). Off for training:
   * on the shared 2-core machine a spinning worker steals the core a preempted peer (or the data
   * pipeline) needs, measured 10-15% slower per step under load.
   */
  readonly spinning?: boolean;
  /**
   * Records every kernel's time with ORT's profiler into `<prefix>_<date>.json`, written when
   * `endProfiling()` is called (benchmarks use it to see where a step's time goes).
   */
  readonly profileFilePrefix?: string;
  /** ORT session configuration entries (`session.*` keys), e.g. how int8 kernels are chosen. */
  readonly config?: Readonly<Record<string, string>>;
  /** Where ORT writes the graph it optimised (the fused int8 kernels can be checked there). */
  readonly optimizedModelFilePath?: string;
  /** Graph optimisation; default all. `disabled` for a graph ORT already optimised. */
  readonly optimization?: 'all' | 'disabled';
  /** Hide ORT's warnings (e.g. that a saved optimised graph is specific to this CPU). */
  readonly quiet?: boolean;
  /**
   * ORT's memory pattern (default on): after the first run of an input shape, one block sized for
   * the whole run's planned peak is taken from the arena — on top of the arena chunks the first
   * run left behind. Off for training graphs: measured 1.29 vs 1.70 GB peak RSS for VGG16 trained
   * whole at 224, batch 4, at the same speed.
   */
  readonly memoryPattern?: boolean;
}

export type Feeds = Readonly<
  Record<
    string,
    | Float32Tensor
    | {
        readonly dims: readonly number[];
        readonly data: BigInt64Array | Uint8Array;
        readonly dtype: 'int64' | 'bool';
      }
  >
>;

export class Session {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** `model`: ONNX bytes, or a file path (needed when the model keeps weights in external data). */
  static async create(model: Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: options.optimization ?? 'all',
      ...(options.quiet === true ? { logSeverityLevel: 3 as const } : {}),
      ...(options.memoryPattern === false ? { enableMemPattern: false } : {}),
      executionMode: 'sequential',
      ...(options.optimizedModelFilePath === undefined
        ? {}
        : { optimizedModelFilePath: options.optimizedModelFilePath }),
      ...(options.profileFilePrefix === undefined
        ? {}
        : { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }),
      extra: configEntries(options),
    };
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    return new Session(session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; returns the float outputs by name (all outputs unless `fetches` names some). */
  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, Float32Tensor>> {
    const ortFeeds = toOrtFeeds(feeds);
    const results =
      fetches === undefined
        ? await this.session.run(ortFeeds)
        : await this.session.run(ortFeeds, [...fetches]);
    const out: Record<string, Float32Tensor> = {};
    for (const [name, value] of Object.entries(results)) {
      if (value.type !== 'float32')
        throw new Error(`output ${name} is ${value.type}, expected float32`);
      out[name] = { dims: value.dims, data: value.data as Float32Array };
    }
    return out;
  }

  /**
   * Runs the graph writing every named output into the caller's buffer (shapes must match), so
   * a training step reuses its parameter buffers instead of allocating new ones per run.
   */
  async runInto(feeds: Feeds, outputs: Readonly<Record<string, Float32Tensor>>): Promise<void> {
    const fetches: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(outputs))
      fetches[name] = new ort.Tensor('float32', t.data, [...t.dims]);
    await this.session.run(toOrtFeeds(feeds), fetches);
  }

  /** Ends profiling (see SessionOptions.profileFilePrefix) and writes the profile file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ORT's `extra` config tree: dotted keys become nested objects. */
function configEntries(options: SessionOptions): Record<string, unknown> {
  const flat: Record<string, string> = {
    ...(options.spinning === false ? { 'session.intra_op.allow_spinning': '0' } : {}),
    ...options.config,
  };
  const tree: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = tree;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] as string] = value;
  }
  return tree;
}

function toOrtFeeds(feeds: Feeds): Record<string, ort.Tensor> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const dtype = 'dtype' in t ? t.dtype : 'float32';
    ortFeeds[name] = new ort.Tensor(dtype, t.data, [...t.dims]);
  }
  return ortFeeds;
}

/**
 * TrainStep — the training-step engine the fit loop drives. One instance per training stage (a
 * fixed set of trainable blocks); it builds two ONNX graphs once (train-graph.ts) and creates their
 * ORT sessions once, then every call only moves tensors.
 *
 *   const ts = await TrainStep.create({
 *     arch: 'vgg16', trainableBlocks: 1, inputShape: [14, 14, 512],   // block4_pool output, NHWC
 *     head: { kind: 'flatten', dense: 256, dropout: 0.5, classes: 3, loss: 'categorical_crossentropy' },
 *     optimizer: { name: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, nesterov: false, weightDecay: 0, clipNorm: 0 },
 *     weights,            // WeightMap with at least every trainable key (extra keys are ignored)
 *     seed: 1337,         // dropout masks
 *   });
 *   ts.groups                                   // ['block5', 'head']: learning-rate groups
 *   await ts.step(x, targets, { block5: 1e-5, head: 1e-4 })  // -> { loss, correct }
 *   await ts.evaluate(x, targets)               // -> { loss, correct, probabilities }
 *
 * Contract:
 * - `x` is NHWC [n, ...inputShape], the frozen prefix's output (cache it: it never changes while
 *   the prefix is frozen and unaugmented); `targets` is [n, classes] (one-hot or soft; for binary
 *   loss the 0/1 targets). Any n >= 1 works, the last partial batch included.
 * - `step` runs forward, loss, backward and the optimizer update of every trainable parameter in
 *   one graph. `loss` is the batch mean (Keras' reduction, regularisation not included); `correct`
 *   the number of right predictions in the batch (Keras' accuracy times n). Learning rates are
 *   plain numbers per group, so schedules and ReduceLROnPlateau never rebuild anything; a missing
 *   or extra group is an error. Parameters change only when the whole step succeeded; the
 *   optimizer state is updated in place as the step runs (half the memory), so after a step that
 *   failed inside ONNX Runtime it is undefined — restore it from a checkpoint.
 * - `evaluate` is the same forward without dropout, plus softmax/sigmoid probabilities [n, classes].
 * - `getParameters()` returns copies in Keras names and layouts (conv HWIO, dense [in, out]; head
 *   layers `dense`, `dense_1`); `setParameters()` copies in (e.g. restore-best-weights);
 *   `viewParameters()` / `viewOptimizerState()` lend the live buffers instead, until the next step.
 * - `getOptimizerState()` / `setOptimizerState()` round-trip everything a resumed run needs to
 *   continue bit-identically: the update count, every optimizer slot (`m:<key>`, `v:<key>` for
 *   Adam, `velocity:<key>` for SGD with momentum) and the dropout RNG state.
 * - Frozen layers are not in these graphs: their weights never leave the caller's WeightMap.
 * - Call `release()` when the stage ends.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Random } from '../util/random.js';
import { defaultCacheDir } from '../model/download.js';
import { invalidOption, VggkitError } from '../util/errors.js';
import { sizeOf, type Float32Tensor } from '../util/tensor.js';
import type { WeightMap } from '../model/weight-map.js';
import { dropoutMask } from '../graph/ops/dropout.js';
import { optimizerSlots, type OptimizerSpec } from '../graph/optimizers/index.js';
import { Session, type Feeds } from './session.js';
import {
  chooseConvLowerings,
  convSites,
  type ConvLoweringName,
  type ConvLoweringPolicy,
  type ConvSite,
} from './conv-lowering.js';
import { planTraining, type TrainPart, type TrainPlan } from './train-plan.js';
import {
  buildEvalGraph,
  buildTrainGraph,
  lrInput,
  slotInput,
  updatedOutput,
} from './train-graph.js';

export type { TrainPart, TrainHead, TrainLoss } from './train-plan.js';
export type { OptimizerSpec } from '../graph/optimizers/index.js';
export type { ConvLoweringName, ConvLoweringPolicy } from './conv-lowering.js';

/** The file under the cache directory where `auto` keeps its conv timings. */
export const CONV_TIMINGS_FILE = 'conv-lowering-timings.json';

export interface TrainStepOptions extends TrainPart {
  readonly optimizer: OptimizerSpec;
  readonly weights: WeightMap;
  /** Seeds the dropout masks. */
  readonly seed: number;
  /** ORT intra-op threads; defaults to the number of cores. */
  readonly threads?: number;
  /** Profile the training graph's kernels with ORT's profiler (see `endProfiling`). */
  readonly profileFilePrefix?: string;
  /**
   * How the trainable convs are lowered (conv-lowering.ts): `auto` (default) times the candidates
   * per shape once per machine and caches the result under `cacheDir`; a name fixes one lowering.
   */
  readonly convLowering?: ConvLoweringPolicy;
  /** The batch size steps mostly run at: buffers are sized, and `auto` timed, for it (default 32). */
  readonly batchSize?: number;
  /** Where `auto` caches its timings; default `$VGGKIT_HOME` or ~/.cache/vggkit. */
  readonly cacheDir?: string;
  /** Called before `auto` times a lowering of a conv layer (seconds, once per shape and machine). */
  readonly onConvTiming?: (layer: string, lowering: ConvLoweringName) => void;
}

export interface StepResult {
  readonly loss: number;
  readonly correct: number;
}

export interface EvalResult extends StepResult {
  readonly probabilities: Float32Tensor;
}

export interface OptimizerState {
  /** Updates applied so far. */
  readonly step: number;
  /** `<slot>:<key>` -> tensor of the parameter's shape. */
  readonly slots: ReadonlyMap<string, Float32Tensor>;
  readonly dropoutRandomState: number;
}

/**
 * A value the step updates. Parameters have two buffers, fed from one and written into the other,
 * then swapped: the backward pass still reads a parameter (an input gradient needs the kernel)
 * after its own update may have run. Optimizer slots and the step count are only read by the
 * nodes that compute their new value, so they are fed and written in one buffer, in place
 * (halving the optimizer state's memory: 2 x the parameters for Adam).
 */
class Buffered {
  private buffers: [Float32Array, Float32Array];
  constructor(
    readonly dims: readonly number[],
    inPlace: boolean,
  ) {
    const first = new Float32Array(sizeOf(dims));
    this.buffers = [first, inPlace ? first : new Float32Array(sizeOf(dims))];
  }
  get current(): Float32Array {
    return this.buffers[0];
  }
  get next(): Float32Array {
    return this.buffers[1];
  }
  swap(): void {
    this.buffers = [this.buffers[1], this.buffers[0]];
  }
}

export class TrainStep {
  private readonly values = new Map<string, Buffered>();
  private readonly slots: readonly string[];
  private random: Random;
  private readonly scalarOut = { loss: new Float32Array(1), correct: new Float32Array(1) };

  private constructor(
    readonly plan: TrainPlan,
    /** The lowering each trainable conv runs with, by layer name. */
    readonly convLowerings: ReadonlyMap<string, ConvLoweringName>,
    private readonly train: Session,
    private readonly evaluation: Session,
    optimizer: OptimizerSpec,
    seed: number,
  ) {
    this.slots = optimizerSlots(optimizer);
    this.random = new Random(seed);
    for (const p of plan.params) {
      this.values.set(p.key, new Buffered(p.dims, false));
      for (const slot of this.slots)
        this.values.set(slotInput(slot, p.key), new Buffered(p.dims, true));
    }
    this.values.set('step', new Buffered([], true));
  }

  static async create(options: TrainStepOptions): Promise<TrainStep> {
    const plan = planTraining(options);
    const threads = options.threads ?? availableParallelism();
    const sessionOptions = { spinning: false, threads, memoryPattern: false };
    const convs = await chooseConvLowerings(convSites(plan.layers, plan.part.inputShape), {
      policy: options.convLowering ?? 'auto',
      batch: options.batchSize ?? 32,
      threads,
      cacheFile: join(options.cacheDir ?? defaultCacheDir(), CONV_TIMINGS_FILE),
      ...(options.onConvTiming === undefined
        ? {}
        : {
            onTiming: (site: ConvSite, lowering: ConvLoweringName) =>
              options.onConvTiming?.(site.layer, lowering),
          }),
    });
    const train = await Session.create(buildTrainGraph(plan, options.optimizer, convs), {
      ...sessionOptions,
      ...(options.profileFilePrefix === undefined
        ? {}
        : { profileFilePrefix: options.profileFilePrefix }),
    });
    let evaluation: Session;
    try {
      evaluation = await Session.create(buildEvalGraph(plan, convs), sessionOptions);
    } catch (error) {
      await train.release();
      throw error;
    }
    const ts = new TrainStep(
      plan,
      new Map([...convs].map(([layer, c]) => [layer, c.name])),
      train,
      evaluation,
      options.optimizer,
      options.seed,
    );
    try {
      ts.setParameters(options.weights);
    } catch (error) {
      // Missing or misshapen weights: nothing was handed out, so the sessions are freed here.
      await ts.release();
      throw error;
    }
    return ts;
  }

  /** Learning-rate groups, deepest trainable block first, `head` last. */
  get groups(): readonly string[] {
    return this.plan.groups;
  }

  async step(
    x: Float32Tensor,
    targets: Float32Tensor,
    lrs: Readonly<Record<string, number>>,
  ): Promise<StepResult> {
    const n = this.checkBatch(x, targets);
    const feeds = this.dataFeeds(x, targets);
    for (const group of this.plan.groups) {
      const lr = lrs[group];
      if (lr === undefined || !Number.isFinite(lr))
        throw invalidOption(`learning rate of group ${group}`, 'a finite number', lr);
      feeds[lrInput(group)] = { dims: [], data: new Float32Array([lr]) };
    }
    const extra = Object.keys(lrs).filter((group) => !this.plan.groups.includes(group));
    if (extra.length > 0)
      throw invalidOption(
        'learning-rate groups',
        this.plan.groups.join(', '),
        Object.keys(lrs).join(', '),
      );
    const { dropout, dense } = this.plan.part.head;
    if (dropout > 0)
      feeds.mask = { dims: [n, dense], data: dropoutMask(this.random, n * dense, dropout) };
    const outputs: Record<string, Float32Tensor> = {
      loss: { dims: [], data: this.scalarOut.loss },
      correct: { dims: [], data: this.scalarOut.correct },
    };
    for (const [name, value] of this.values) {
      feeds[name] = { dims: value.dims, data: value.current };
      outputs[updatedOutput(name)] = { dims: value.dims, data: value.next };
    }
    await this.train.runInto(feeds, outputs);
    for (const value of this.values.values()) value.swap();
    return { loss: this.scalarOut.loss[0] as number, correct: this.scalarOut.correct[0] as number };
  }

  async evaluate(x: Float32Tensor, targets: Float32Tensor): Promise<EvalResult> {
    this.checkBatch(x, targets);
    const feeds = this.dataFeeds(x, targets);
    for (const p of this.plan.params)
      feeds[p.key] = { dims: p.dims, data: (this.values.get(p.key) as Buffered).current };
    const out = await this.evaluation.run(feeds);
    return {
      loss: out.loss?.data[0] as number,
      correct: out.correct?.data[0] as number,
      probabilities: out.probabilities as Float32Tensor,
    };
  }

  getParameters(): WeightMap {
    return new Map(
      [...this.viewParameters()].map(([key, t]) => [
        key,
        { dims: [...t.dims], data: Float32Array.from(t.data) },
      ]),
    );
  }

  /**
   * The trainable parameters without a copy: views of the step's own buffers, valid until the
   * next `step` or `setParameters` (for writing a checkpoint without a spare copy of the model).
   */
  viewParameters(): WeightMap {
    return new Map(
      this.plan.params.map((p) => [
        p.key,
        { dims: p.dims, data: (this.values.get(p.key) as Buffered).current },
      ]),
    );
  }

  /** Copies every trainable parameter from `weights` (Keras names and layouts); other keys are ignored. */
  setParameters(weights: WeightMap): void {
    for (const p of this.plan.params) {
      const w = weights.get(p.key);
      if (w === undefined)
        throw new VggkitError(
          'WEIGHTS_MISSING_LAYER',
          `trainable weights: expected ${p.key} [${p.dims.join(', ')}], found none`,
        );
      this.copyInto(p.key, w, 'trainable weights');
    }
  }

  getOptimizerState(): OptimizerState {
    const state = this.viewOptimizerState();
    return {
      ...state,
      slots: new Map(
        [...state.slots].map(([name, t]) => [
          name,
          { dims: [...t.dims], data: Float32Array.from(t.data) },
        ]),
      ),
    };
  }

  /** `getOptimizerState` without copying the slots: views valid until the next `step`. */
  viewOptimizerState(): OptimizerState {
    const slots = new Map<string, Float32Tensor>();
    for (const p of this.plan.params) {
      for (const slot of this.slots) {
        const name = slotInput(slot, p.key);
        slots.set(name, { dims: p.dims, data: (this.values.get(name) as Buffered).current });
      }
    }
    return {
      step: (this.values.get('step') as Buffered).current[0] as number,
      slots,
      dropoutRandomState: this.random.getState(),
    };
  }

  setOptimizerState(state: OptimizerState): void {
    for (const p of this.plan.params) {
      for (const slot of this.slots) {
        const name = slotInput(slot, p.key);
        const t = state.slots.get(name);
        if (t === undefined)
          throw new VggkitError(
            'OPTIMIZER_STATE',
            `optimizer state: expected ${name} [${p.dims.join(', ')}], found none`,
          );
        this.copyInto(name, t, 'optimizer state');
      }
    }
    (this.values.get('step') as Buffered).current[0] = state.step;
    this.random = Random.fromState(state.dropoutRandomState);
  }

  /** Writes the training graph's kernel profile (when created with `profileFilePrefix`). */
  endProfiling(): void {
    this.train.endProfiling();
  }

  async release(): Promise<void> {
    await this.train.release();
    await this.evaluation.release();
  }

  private copyInto(name: string, t: Float32Tensor, what: string): void {
    const target = this.values.get(name) as Buffered;
    if (t.dims.length !== target.dims.length || t.dims.some((d, i) => d !== target.dims[i])) {
      throw new VggkitError(
        'WEIGHTS_SHAPE',
        `${what}: ${name}: expected shape [${target.dims.join(', ')}], received [${t.dims.join(', ')}]`,
      );
    }
    target.current.set(t.data);
  }

  private checkBatch(x: Float32Tensor, targets: Float32Tensor): number {
    const { inputShape, head } = this.plan.part;
    const n = x.dims[0] ?? 0;
    if (x.dims.length !== 4 || n < 1 || x.dims.slice(1).some((d, i) => d !== inputShape[i])) {
      throw shapeError('x', `[n, ${inputShape.join(', ')}] (NHWC)`, x.dims);
    }
    if (targets.dims.length !== 2 || targets.dims[0] !== n || targets.dims[1] !== head.classes) {
      throw shapeError('targets', `[${n}, ${head.classes}]`, targets.dims);
    }
    return n;
  }

  private dataFeeds(x: Float32Tensor, targets: Float32Tensor): Record<string, Feeds[string]> {
    return { x, targets };
  }
}

function shapeError(what: string, expected: string, dims: readonly number[]): VggkitError {
  return new VggkitError(
    'BAD_SHAPE',
    `${what}: expected shape ${expected}, received [${dims.join(', ')}]`,
    { exitCode: 2 },
  );
}

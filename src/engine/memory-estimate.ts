/**
 * How much memory a training stage needs, estimated from its plan before anything is allocated,
 * so `train` can refuse a batch that cannot fit (with the figures) instead of running into the
 * kernel's OOM killer an hour in.
 *
 * The model, calibrated on VGG16 trained whole at 224 (batch 2-8; measured peak RSS within ~10%):
 *   fixed      runtime (Node, ONNX Runtime, the two sessions), every weight of the model (the fit
 *              loop holds them all), the trainable parameters twice (fed and updated buffers),
 *              the optimizer slots once (updated in place), their gradients, two parameter-sized
 *              optimizer temporaries, and MLAS' working buffer for batched ORT convs (one image's
 *              column matrix per thread);
 *   per image  the activations kept for the backward pass (every spatial layer's output and the
 *              input), twice the largest of them (the backward pass's dY and dX), whatever the
 *              chosen conv lowerings keep (columns, Winograd tiles), and the largest transient
 *              buffers of any one conv (one runs at a time; ORT's arena keeps the peak).
 * Checked against bench/whole-network.ts (VGG16 whole at 224, Winograd chosen everywhere, 2 AVX2
 * cores): 2.02 GB estimated vs 2.04 GB peak RSS at batch 8, 3.89 vs 3.94 GB at batch 32; without
 * the transient term it said 3.43 GB at batch 32.
 */
import { freemem } from 'node:os';
import { UsageError } from '../util/errors.js';
import type { LayerSpec } from '../model/architectures.js';
import type { TrainPlan } from './train-plan.js';
import { convSites, largestCandidates, type ConvChoice } from './conv-lowering.js';

const F32 = 4;
/** Node, ONNX Runtime and two sessions before any tensor (calibrated). */
const RUNTIME_BYTES = 160 * 2 ** 20;

export interface MemoryEstimate {
  readonly bytes: number;
  readonly fixedBytes: number;
  readonly perImageBytes: number;
}

function count(shape: readonly number[] | undefined): number {
  return shape === undefined ? 0 : shape.reduce((a, b) => a * b, 1);
}

export interface EstimateInput {
  readonly plan: TrainPlan;
  /** Every layer of the model (frozen ones too): all their weights stay in memory. */
  readonly modelLayers: readonly LayerSpec[];
  readonly optimizerSlots: number;
  readonly batch: number;
  readonly threads: number;
  /** The conv lowerings; by default the candidate `auto` may pick that takes the most memory. */
  readonly convs?: ReadonlyMap<string, ConvChoice>;
}

export function estimateTrainingMemory(input: EstimateInput): MemoryEstimate {
  const { plan, batch } = input;
  const sites = convSites(plan.layers, plan.part.inputShape);
  const convs = input.convs ?? largestCandidates(sites, batch);
  const weights = input.modelLayers.reduce(
    (sum, l) => sum + count(l.kernelShape) + count(l.biasShape),
    0,
  );
  const trainable = plan.params.reduce((sum, p) => sum + count(p.dims), 0);
  const largestParam = Math.max(0, ...plan.params.map((p) => count(p.dims)));
  const mlasBuffer =
    batch > 1
      ? Math.max(
          0,
          ...sites
            .filter((s) => convs.get(s.layer)?.name === 'ort')
            .map((s) => input.threads * 9 * s.h * s.w * s.cin * F32),
        )
      : 0;
  const fixedBytes =
    RUNTIME_BYTES +
    F32 * (weights + trainable * (2 + input.optimizerSlots + 1) + 2 * largestParam) +
    mlasBuffer;
  const spatial = plan.layers
    .filter((l) => l.outputShape.length === 3)
    .map((l) => count(l.outputShape));
  const activations = count(plan.part.inputShape) + spatial.reduce((a, b) => a + b, 0);
  const kept = [...convs.values()].reduce((sum, c) => sum + c.keptBytesPerImage, 0);
  const transient = Math.max(0, ...[...convs.values()].map((c) => c.transientBytesPerImage));
  const perImageBytes = F32 * (activations + 2 * Math.max(0, ...spatial)) + kept + transient;
  return { fixedBytes, perImageBytes, bytes: fixedBytes + batch * perImageBytes };
}

/** Memory this process can still take: the kernel's MemAvailable, within any cgroup limit. */
export function availableMemoryBytes(): number {
  // process.availableMemory (Node >= 20.13) also honours a cgroup limit; os.freemem is MemAvailable.
  const fromProcess = (process as { availableMemory?: () => number }).availableMemory;
  return typeof fromProcess === 'function' ? fromProcess.call(process) : freemem();
}

const gb = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GB`;
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0);

/**
 * Refuses a batch whose estimate exceeds the available memory: a BATCH_TOO_LARGE usage error
 * naming --batch-size, the estimate (fixed + per image), what is available and the largest batch
 * that fits. `what` describes the stage (`blocks 1-5 + head at 224x224`).
 */
export function checkBatchFits(
  estimate: MemoryEstimate,
  available: number,
  batch: number,
  what: string,
): void {
  if (estimate.bytes <= available) return;
  const fits = Math.floor((available - estimate.fixedBytes) / estimate.perImageBytes);
  const advice =
    fits >= 1
      ? `use --batch-size ${fits} or lower`
      : 'even one image does not fit: unfreeze fewer blocks or lower --input-size';
  throw new UsageError(
    'BATCH_TOO_LARGE',
    `--batch-size ${batch}: training ${what} needs an estimated ${gb(estimate.bytes)} of memory (${gb(estimate.fixedBytes)} + ${batch} x ${mb(estimate.perImageBytes)} MB per image), but ${gb(available)} is available; ${advice}`,
  );
}

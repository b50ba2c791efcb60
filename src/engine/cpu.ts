/**
 * How int8 convolutions are laid out for this CPU, from the features src/util/machine.ts reads
 * (the one owner of /proc/cpuinfo).
 */
import { type CpuFlag, cpuInfo } from '../util/machine.js';

type CpuFlags = Readonly<Record<CpuFlag, boolean>>;

let cached: CpuFlags | undefined;

/** The CPU's flags, read once per process. */
export function cpuFlags(): CpuFlags {
  cached ??= cpuInfo().flags;
  return cached;
}

/** How int8 convolutions are laid out for this CPU (see src/model/quantize.ts). */
export interface Int8Kernels {
  /**
   * Always uint8 activations with int8 weights (U8S8): measured on x86 (bench/forward.ts), ONNX
   * Runtime turns int8 activations into uint8 anyway (its S8-to-U8 rewrite) and, forced to keep
   * them (session.qdqisint8allowed), ran 5x slower than fp32 for want of an S8S8 kernel.
   */
  readonly activations: 'uint8';
  /**
   * 8, or 7 on x86 without VNNI: there MLAS multiplies u8 x s8 pairs with VPMADDUBSW, whose
   * 16-bit sums saturate for full-range weights (ONNX Runtime's "reduce range" advice).
   */
  readonly weightBits: 8 | 7;
  /** What decided it, for reports: e.g. `avx512_vnni` or `avx2 without VNNI`. */
  readonly basis: string;
}

export function int8Kernels(
  flags: CpuFlags = cpuFlags(),
  arch: string = process.arch,
): Int8Kernels {
  if (arch !== 'x64') return { activations: 'uint8', weightBits: 8, basis: arch };
  if (flags.avx512_vnni) return { activations: 'uint8', weightBits: 8, basis: 'avx512_vnni' };
  if (flags.avx_vnni) return { activations: 'uint8', weightBits: 8, basis: 'avx_vnni' };
  return {
    activations: 'uint8',
    weightBits: 7,
    basis: `${flags.avx2 ? 'avx2' : 'x64'} without VNNI`,
  };
}

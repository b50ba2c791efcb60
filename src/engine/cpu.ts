/**
 * The CPU features that decide which ONNX Runtime kernels run: read once from /proc/cpuinfo
 * (Linux; elsewhere all unknown, i.e. false). Benchmarks print them (bench/machine.ts) and the
 * int8 path picks its weight range by them.
 */
import { readFileSync } from 'node:fs';

/** The flags that change fp32 and int8 kernel choice. */
export const CPU_FLAGS_THAT_MATTER = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'] as const;
export type CpuFlag = (typeof CPU_FLAGS_THAT_MATTER)[number];
export type CpuFlags = Readonly<Record<CpuFlag, boolean>>;

let cached: CpuFlags | undefined;

export function cpuFlags(): CpuFlags {
  if (cached !== undefined) return cached;
  let present = new Set<string>();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    present = new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
  } catch {
    // Not Linux: the flags stay unknown (all false).
  }
  cached = Object.fromEntries(CPU_FLAGS_THAT_MATTER.map((f) => [f, present.has(f)])) as Record<
    CpuFlag,
    boolean
  >;
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

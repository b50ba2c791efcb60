/**
 * The facts about this machine that decide which kernels are fastest: CPU model, the vector
 * extensions ONNX Runtime and PyTorch pick kernels by, and the core count. Benchmarks print them;
 * the conv-lowering choice keys its on-disk timings by them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** The flags that change fp32 and int8 kernel choice. */
export const CPU_FLAGS_THAT_MATTER = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'] as const;

export type CpuFlag = (typeof CPU_FLAGS_THAT_MATTER)[number];

export interface CpuInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly flags: Readonly<Record<CpuFlag, boolean>>;
}

export function cpuInfo(): CpuInfo {
  let present = new Set<string>();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    present = new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
  } catch {
    // Not Linux: the flags stay unknown (all false) and the model name still comes from os.cpus().
  }
  const flags = Object.fromEntries(CPU_FLAGS_THAT_MATTER.map((f) => [f, present.has(f)])) as Record<
    CpuFlag,
    boolean
  >;
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), flags };
}

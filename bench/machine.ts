/**
 * What every benchmark prints first: the CPU model, the vector extensions that decide which
 * kernels ONNX Runtime and PyTorch pick (the machine changes between sessions, so figures are only
 * comparable as ratios measured in one run), the cores and the load average at the start.
 */
import { loadavg } from 'node:os';
import { CPU_FLAGS_THAT_MATTER, cpuInfo, type CpuInfo } from '../src/util/machine.js';

export { CPU_FLAGS_THAT_MATTER } from '../src/util/machine.js';

export interface MachineInfo extends CpuInfo {
  /** 1-minute load average when the benchmark started: above ~0.3 the figures are noisy. */
  readonly load: number;
}

export function machineInfo(): MachineInfo {
  return { ...cpuInfo(), load: loadavg()[0] ?? 0 };
}

/** One line, e.g. `cpu: AMD EPYC, 2 cores, avx2 fma avx512f avx512_vnni (no avx_vnni), load 0.12`. */
export function describeMachine(info: MachineInfo = machineInfo()): string {
  const has = CPU_FLAGS_THAT_MATTER.filter((f) => info.flags[f]);
  const lacks = CPU_FLAGS_THAT_MATTER.filter((f) => !info.flags[f]);
  return `cpu: ${info.cpu}, ${info.cores} cores, ${has.join(' ') || 'no AVX2/FMA'}${lacks.length > 0 ? ` (no ${lacks.join(', ')})` : ''}, load ${info.load.toFixed(2)}`;
}

/**
 * What the step benchmarks share: an Engine runs n steps on request and reports each step's
 * milliseconds; a child-process engine speaks one JSON line per request over stdin/stdout (a
 * PyTorch script in --serve mode, or a vggkit worker measuring its own peak RSS); `interleave`
 * gives every engine its turn in each round, so a burst of load from others hits all alike.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface, type Interface } from 'node:readline';

export interface Engine {
  readonly name: string;
  run(n: number): Promise<number[]>;
  /** Ends the engine; a child process reports its peak resident set size (MB) on the way out. */
  close(): Promise<{ readonly maxRssMb?: number }>;
}

/** glibc's huge-page malloc, the tuned PyTorch configuration the targets compare against. */
export const HUGE_PAGES = {
  GLIBC_TUNABLES:
    'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296',
};

/**
 * A child process that prints one JSON line when ready (`{"ready": true, ...}`), answers each
 * line `N` on stdin with `{"stepMs": [...]}`, and on end of input prints `{"maxRssMb": ...}`.
 * Undefined (with the reason printed) when the process cannot start, e.g. torch is missing.
 */
export async function childEngine(
  name: (ready: Record<string, unknown>) => string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Engine | undefined> {
  const child: ChildProcessWithoutNullStreams = spawn(command, [...args], {
    env: { ...process.env, ...env },
  });
  const lines: Interface = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown> | undefined> => {
    for (;;) {
      const { value, done } = await iterator.next();
      if (done === true) return undefined;
      const line = (value as string).trim();
      // Anything that is not a JSON object (a library's own chatter) is not part of the protocol.
      if (line.startsWith('{')) return JSON.parse(line) as Record<string, unknown>;
    }
  };
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  const ready = spawned ? await next().catch(() => undefined) : undefined;
  if (ready === undefined) {
    console.log(
      `${command} ${args.join(' ')}: unavailable (${stderr.trim().split('\n').at(-1) ?? 'did not start'})`,
    );
    child.kill();
    return undefined;
  }
  return {
    name: name(ready),
    run: async (n) => {
      child.stdin.write(`${n}\n`);
      const reply = await next();
      if (reply === undefined) throw new Error(`${command} exited: ${stderr.trim()}`);
      return (reply.stepMs as number[] | undefined) ?? [];
    },
    close: async () => {
      child.stdin.end();
      const last = await next().catch(() => undefined);
      await new Promise((resolve) =>
        child.exitCode === null ? child.once('exit', resolve) : resolve(0),
      );
      return typeof last?.maxRssMb === 'number' ? { maxRssMb: last.maxRssMb } : {};
    },
  };
}

/** `rounds` rounds in which every engine runs `steps` steps; per-engine step times in order. */
export async function interleave(
  engines: readonly { run(n: number): Promise<number[]> }[],
  rounds: number,
  steps: number,
): Promise<number[][]> {
  const times = engines.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++)
    for (const [i, engine] of engines.entries()) times[i]?.push(...(await engine.run(steps)));
  return times;
}

export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

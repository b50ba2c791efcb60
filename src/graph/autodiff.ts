/**
 * Reverse-mode autodiff over the tape of a GraphBuilder. Gradients are emitted as more ONNX nodes
 * in the same graph, so one graph computes forward, loss and backward (and, appended by the
 * trainer, the optimizer update). Only ops on a path from `wrt` to `loss` are differentiated;
 * reaching an op with no `backward` on such a path is an error naming the op, and so is a rule that
 * does not return exactly one entry (a gradient or undefined) per input.
 */
import type { GraphBuilder, Sym, TapeEntry } from './ir.js';

export function gradients(g: GraphBuilder, loss: Sym, wrt: readonly Sym[], seed?: Sym): Sym[] {
  const tape = g.tape;
  const dependsOnWrt = new Set(wrt.map((s) => s.name));
  for (const entry of tape) {
    if (entry.inputs.some((i) => dependsOnWrt.has(i.name)))
      for (const o of entry.outputs) dependsOnWrt.add(o.name);
  }
  if (!dependsOnWrt.has(loss.name))
    throw new Error(`the loss ${loss.name} does not depend on any parameter asked for`);

  const grads = new Map<string, Sym>();
  if (seed === undefined && loss.shape.length !== 0)
    throw new Error(`the loss must be a scalar, ${loss.name} has shape [${loss.shape.join(', ')}]`);
  grads.set(loss.name, seed ?? g.scalar(1, 'loss_grad_seed'));
  g.unrecorded(() => {
    for (let k = tape.length - 1; k >= 0; k--) {
      const entry = tape[k] as TapeEntry;
      const gradOutputs = entry.outputs.map((o) => grads.get(o.name));
      if (gradOutputs.every((x) => x === undefined)) continue;
      if (!entry.inputs.some((i) => dependsOnWrt.has(i.name))) continue;
      if (entry.op.backward === undefined)
        throw new Error(
          `op ${entry.op.name} has no gradient rule, but a parameter's gradient flows through it`,
        );
      const backward = entry.op.backward;
      const gradInputs = g.onnx.scoped(`${entry.op.name}.grad`, () =>
        backward(
          g,
          {
            inputs: entry.inputs,
            outputs: entry.outputs,
            attrs: entry.attrs,
            needsGrad: entry.inputs.map((i) => dependsOnWrt.has(i.name)),
          },
          gradOutputs,
        ),
      );
      // A rule that returns too few or too many entries would pair gradients with the wrong inputs.
      if (gradInputs.length !== entry.inputs.length)
        throw new Error(
          `op ${entry.op.name}: its gradient rule returned ${gradInputs.length} gradient(s) for ${entry.inputs.length} input(s); it must return one per input (undefined for none)`,
        );
      entry.inputs.forEach((input, i) => {
        const gi = gradInputs[i];
        if (gi === undefined || !dependsOnWrt.has(input.name)) return;
        const previous = grads.get(input.name);
        grads.set(
          input.name,
          previous === undefined ? gi : g.node('Add', [previous, gi], input.shape),
        );
      });
    }
  });
  return wrt.map((w) => {
    const gw = grads.get(w.name);
    if (gw === undefined) throw new Error(`no gradient reached ${w.name}`);
    return gw;
  });
}

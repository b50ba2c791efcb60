import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CallbackList,
  StopTraining,
  type Callback,
  type EpochEndEvent,
} from '../../src/train/events.js';

const control = { getLr: (): number => 0.1, setLr: (): void => undefined };
const event: EpochEndEvent = {
  type: 'epoch_end',
  epoch: 0,
  logs: { loss: 1, accuracy: 0.5, lr: 0.1 },
};

test('callbacks run in declared order, only for the events they handle', async () => {
  const seen: string[] = [];
  const a: Callback = { name: 'a', epoch_end: () => void seen.push('a') };
  const b: Callback = { name: 'b', batch_end: () => void seen.push('b-batch') };
  const c: Callback = {
    name: 'c',
    epoch_end: async () => {
      await Promise.resolve();
      seen.push('c');
    },
  };
  await new CallbackList([c, a, b]).dispatch(event, control);
  assert.deepEqual(seen, ['c', 'a']);
});

test('StopTraining ends training after the event reached every callback; the first stop wins', async () => {
  const seen: string[] = [];
  const list = new CallbackList([
    {
      name: 'stopper',
      epoch_end: () => {
        throw new StopTraining('enough');
      },
    },
    { name: 'logger', epoch_end: () => void seen.push('logged') },
    {
      name: 'second',
      epoch_end: () => {
        throw new StopTraining('also', 'custom');
      },
    },
  ]);
  await list.dispatch(event, control);
  assert.deepEqual(seen, ['logged']);
  assert.equal(list.stopRequest?.message, 'enough');
  assert.equal(list.stopRequest?.by, 'stopper');
});

test('other errors propagate at once; duplicate names are refused; state is keyed by name', async () => {
  const list = new CallbackList([
    {
      name: 'boom',
      epoch_end: () => {
        throw new RangeError('bug');
      },
    },
  ]);
  await assert.rejects(list.dispatch(event, control), RangeError);
  assert.throws(
    () => new CallbackList([{ name: 'x' }, { name: 'x' }]),
    /two callbacks are named "x"/,
  );
  let restored: unknown;
  const stateful: Callback = {
    name: 's',
    getState: () => ({ n: 3 }),
    setState: (s: unknown) => {
      restored = s;
    },
  };
  const states = new CallbackList([stateful, { name: 'plain' }]);
  assert.deepEqual(states.getState(), { s: { n: 3 } });
  states.setState({ s: { n: 4 } });
  assert.deepEqual(restored, { n: 4 });
});

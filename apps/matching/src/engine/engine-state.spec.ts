import { quotedRuntimeSec } from './engine-state';

describe('a match replayed from the log keeps its quoted runtime (held nodes estimate their start from it)', () => {
  it.each([
    [{ runtimeSec: 3600 }, 3600],
    [{ runtimeSec: 0 }, undefined],
    [{ runtimeSec: '3600' }, undefined],
    [{ runtimeSec: Number.NaN }, undefined],
    [{}, undefined],
  ])('given quote %j, then the runtime is %p (unknown = counted as overrunning)', (quote, expected) => {
    expect(quotedRuntimeSec(quote as Record<string, unknown>)).toBe(expected);
  });
});

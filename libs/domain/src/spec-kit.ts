import type { Draft } from './decider';

/**
 * Given/when/then for deciders: given past events, when a command, then these events (or this
 * refusal code). Used by every decider spec.
 */
export interface DeciderUnderTest<C, S> {
  decide(command: C, state: S): Draft[];
  evolve(state: S, event: Pick<Draft, 'type' | 'data'>): S;
  initialState(): S;
}

export function specFor<C, S>(decider: DeciderUnderTest<C, S>) {
  return (given: Draft[]) => ({
    when: (command: C) => {
      const run = () => decider.decide(command, given.reduce(decider.evolve, decider.initialState()));
      return {
        then: (expected: Draft[]) => expect(run()).toEqual(expected),
        thenThrows: (code: string) => {
          let caught: unknown;
          try {
            run();
          } catch (e) {
            caught = e;
          }
          expect(caught).toMatchObject({ code });
        },
        events: run,
      };
    },
  });
}

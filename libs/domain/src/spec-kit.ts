import type { AggregateKind } from '@starminer/events';
import type { Decider } from './decider';

/**
 * Given/when/then for deciders: given past events, when a command, then these events (or this
 * refusal code). Used by every decider spec.
 */
export function specFor<A extends AggregateKind, C, S>(decider: Decider<A, C, S>) {
  type E = Parameters<Decider<A, C, S>['evolve']>[1];
  return (given: E[]) => ({
    when: (command: C) => {
      const run = () => decider.decide(command, given.reduce(decider.evolve, decider.initialState()));
      return {
        then: (expected: ReturnType<Decider<A, C, S>['decide']>) => expect(run()).toEqual(expected),
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

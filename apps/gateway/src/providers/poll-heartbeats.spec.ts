import type { CommandBus } from '@starminer/service-kit';
import { POLL_HEARTBEAT_EVERY_MS } from './assignment-limits';
import { PollHeartbeats } from './poll-heartbeats';

function setup() {
  const sent: unknown[] = [];
  const failures: Error[] = [];
  const bus = {
    send: async (_cmd: unknown, payload: unknown) => {
      const err = failures.shift();
      if (err) throw err;
      sent.push(payload);
      return { ok: true };
    },
  } as unknown as CommandBus;
  return { beats: new PollHeartbeats(bus), sent, failures };
}

describe('PollHeartbeats', () => {
  it('given polls of one node, sends one heartbeat per POLL_HEARTBEAT_EVERY_MS and says alive for each', async () => {
    const { beats, sent } = setup();
    expect(await beats.beat('n1', '0xabc', 0)).toBe(true);
    expect(await beats.beat('n1', '0xabc', POLL_HEARTBEAT_EVERY_MS - 1)).toBe(true);
    expect(sent).toEqual([{ nodeId: 'n1', nodeAddress: '0xabc' }]);
    expect(await beats.beat('n1', '0xabc', POLL_HEARTBEAT_EVERY_MS)).toBe(true);
    expect(await beats.beat('n2', '0xdef', POLL_HEARTBEAT_EVERY_MS)).toBe(true);
    expect(sent).toHaveLength(3);
  });

  it('given the registry does not take the heartbeat, says not alive, and the next poll sends it again', async () => {
    const { beats, sent, failures } = setup();
    failures.push(Object.assign(new Error('no responders'), { code: 'COMMAND_UNAVAILABLE' }));
    expect(await beats.beat('n1', '0xabc', 0)).toBe(false);
    expect(await beats.beat('n1', '0xabc', 1)).toBe(true);
    expect(sent).toHaveLength(1);
  });
});

import { COMMANDS, LIMITS, type PayloadOf, type ReplyOf } from '@starminer/events';
import type { CommandBus } from '@starminer/service-kit';
import { POLL_HEARTBEAT_EVERY_MS, POLL_HEARTBEATS_FLUSH_MS } from './assignment-limits';
import { PollHeartbeats } from './poll-heartbeats';

type Beats = PayloadOf<typeof COMMANDS.registry.heartbeats>['beats'];
type Results = ReplyOf<typeof COMMANDS.registry.heartbeats>['results'];

/** A registry that answers each beat ok, but for the nodes in `refuse` (their code) and the commands `failures` fail. */
function setup() {
  const sent: Beats[] = [];
  const failures: Error[] = [];
  const refuse = new Map<string, 'NOT_NODE_KEY' | 'NODE_NOT_FOUND'>();
  const bus = {
    send: async (cmd: unknown, payload: { beats: Beats }) => {
      expect(cmd).toBe(COMMANDS.registry.heartbeats);
      expect(COMMANDS.registry.heartbeats.payload.safeParse(payload).success).toBe(true);
      sent.push(payload.beats);
      const err = failures.shift();
      if (err) throw err;
      const results: Results = payload.beats.map(({ nodeId }) => {
        const code = refuse.get(nodeId);
        return code ? { nodeId, ok: false as const, code } : { nodeId, ok: true as const };
      });
      return { results };
    },
  } as unknown as CommandBus;
  return { beats: new PollHeartbeats(bus), sent, failures, refuse };
}

const key = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;
const flush = () => jest.advanceTimersByTimeAsync(POLL_HEARTBEATS_FLUSH_MS);

describe('PollHeartbeats', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('given polls of several nodes within POLL_HEARTBEATS_FLUSH_MS, sends one heartbeats command for all of them and answers each alive', async () => {
    const { beats, sent } = setup();
    const answers = [beats.beat('n1', key(1), 0), beats.beat('n2', key(2), 0), beats.beat('n3', key(3), 0)];
    await jest.advanceTimersByTimeAsync(POLL_HEARTBEATS_FLUSH_MS - 1);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    await expect(Promise.all(answers)).resolves.toEqual([true, true, true]);
    expect(sent).toEqual([[{ nodeId: 'n1', nodeAddress: key(1) }, { nodeId: 'n2', nodeAddress: key(2) }, { nodeId: 'n3', nodeAddress: key(3) }]]);
  });

  it('given a beat the registry refuses, answers that poll not alive and the others alive, and the refused node beats again at its next poll', async () => {
    const { beats, sent, refuse } = setup();
    refuse.set('n2', 'NOT_NODE_KEY');
    const answers = Promise.all([beats.beat('n1', key(1), 0), beats.beat('n2', key(2), 0), beats.beat('n3', key(3), 0)]);
    await flush();
    await expect(answers).resolves.toEqual([true, false, true]);
    const again = Promise.all([beats.beat('n1', key(1), 1), beats.beat('n2', key(2), 1)]);
    await flush();
    await expect(again).resolves.toEqual([true, false]);
    expect(sent.map((b) => b.map((x) => x.nodeId))).toEqual([['n1', 'n2', 'n3'], ['n2']]);
  });

  it('given the command fails, answers every beat of it not alive, and the next polls send them again', async () => {
    const { beats, sent, failures } = setup();
    failures.push(Object.assign(new Error('no responders'), { code: 'COMMAND_UNAVAILABLE' }));
    const answers = Promise.all([beats.beat('n1', key(1), 0), beats.beat('n2', key(2), 0)]);
    await flush();
    await expect(answers).resolves.toEqual([false, false]);
    const again = Promise.all([beats.beat('n1', key(1), 1), beats.beat('n2', key(2), 1)]);
    await flush();
    await expect(again).resolves.toEqual([true, true]);
    expect(sent).toHaveLength(2);
  });

  it('given polls of one node, sends its heartbeat once per POLL_HEARTBEAT_EVERY_MS, and a second poll while one is queued waits for the same beat', async () => {
    const { beats, sent } = setup();
    const first = Promise.all([beats.beat('n1', key(1), 0), beats.beat('n1', key(1), 1)]);
    await flush();
    await expect(first).resolves.toEqual([true, true]);
    await expect(beats.beat('n1', key(1), POLL_HEARTBEAT_EVERY_MS - 1)).resolves.toBe(true); // within the throttle: answered at once
    expect(sent).toHaveLength(1);
    const due = beats.beat('n1', key(1), POLL_HEARTBEAT_EVERY_MS);
    await flush();
    await expect(due).resolves.toBe(true);
    expect(sent.map((b) => b.map((x) => x.nodeId))).toEqual([['n1'], ['n1']]);
  });

  it('given a poll that answers at once (its work was waiting), hurry sends the queue then, not at the flush; a node not queued changes nothing', async () => {
    const { beats, sent } = setup();
    const a = beats.beat('n1', key(1), 0);
    const b = beats.beat('n2', key(2), 0);
    beats.hurry('n9');
    expect(sent).toHaveLength(0);
    beats.hurry('n1');
    expect(sent).toEqual([[{ nodeId: 'n1', nodeAddress: key(1) }, { nodeId: 'n2', nodeAddress: key(2) }]]);
    await expect(Promise.all([a, b])).resolves.toEqual([true, true]);
    await flush();
    expect(sent).toHaveLength(1); // the flush timer found nothing left
  });

  it('given LIMITS.heartbeatsPerCommandMax beats waiting, sends them at once, and the beats past it in the next command', async () => {
    const { beats, sent } = setup();
    const n = LIMITS.heartbeatsPerCommandMax;
    const full = Promise.all(Array.from({ length: n }, (_, i) => beats.beat(`n${i}`, key(i + 1), 0)));
    await jest.advanceTimersByTimeAsync(0);
    expect(sent.map((b) => b.length)).toEqual([n]);
    await expect(full).resolves.toEqual(Array(n).fill(true));
    const more = beats.beat('extra', key(n + 1), 0);
    await flush();
    await expect(more).resolves.toBe(true);
    expect(sent.map((b) => b.length)).toEqual([n, 1]);
  });

  it('given beats queued when the module stops, sends them then and answers every poll; a poll after it is answered not alive at once', async () => {
    const { beats, sent } = setup();
    const answers = Promise.all([beats.beat('n1', key(1), 0), beats.beat('n2', key(2), 0)]);
    await beats.onModuleDestroy();
    await expect(answers).resolves.toEqual([true, true]);
    expect(sent).toHaveLength(1);
    await expect(beats.beat('n3', key(3), 0)).resolves.toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('given the registry unreachable when the module stops, answers the queued polls not alive rather than leaving them waiting', async () => {
    const { beats, failures } = setup();
    failures.push(new Error('connection closed'));
    const answer = beats.beat('n1', key(1), 0);
    await beats.onModuleDestroy();
    await expect(answer).resolves.toBe(false);
  });
});

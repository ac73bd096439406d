import { AliveClock } from './alive-clock';

describe('AliveClock', () => {
  it('given nothing sent yet, a heartbeat is due', () => {
    expect(new AliveClock().due(0, 10_000)).toBe(true);
  });

  it('given a heartbeat sent, the next is due one interval later', () => {
    const a = new AliveClock();
    a.beatSent(1_000);
    expect(a.due(10_999, 10_000)).toBe(false);
    expect(a.due(11_000, 10_000)).toBe(true);
  });

  it('given a long poll waiting at the gateway, it counts from when it was sent; answered alive, it keeps counting from then', () => {
    const a = new AliveClock();
    a.pollSent(5_000);
    expect(a.due(14_999, 10_000)).toBe(false);
    a.pollAnswered(5_000, true);
    expect(a.due(14_999, 10_000)).toBe(false);
    expect(a.due(15_000, 10_000)).toBe(true);
  });

  it('given a long poll answered without counting (a gateway that does not beat for polls, or a failure), it no longer counts', () => {
    const a = new AliveClock();
    a.beatSent(0);
    a.pollSent(5_000);
    expect(a.due(12_000, 10_000)).toBe(false); // the poll in flight covers it
    a.pollAnswered(5_000, false);
    expect(a.due(12_000, 10_000)).toBe(true); // back to the heartbeat at 0
  });

  it('given the answer of an older poll after a newer one was sent, the newer one still counts while in flight', () => {
    const a = new AliveClock();
    a.pollSent(1_000);
    a.pollSent(2_000);
    a.pollAnswered(1_000, false);
    expect(a.due(11_999, 10_000)).toBe(false);
  });
});

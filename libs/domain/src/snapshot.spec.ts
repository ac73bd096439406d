import { accountDecider, accountSnapshot, evolveAccount, initialAccountState, type AccountCommand, type AccountEvent, type AccountState, type ReleaseReason } from './account';
import { draft, type SnapshotCodec } from './decider';
import { evolveMint, initialMintState, mintDecider, mintSnapshot, type MintCommand, type MintState } from './mint';

/**
 * Snapshots are a cache of a fold: for every state the deciders reach, decode(encode(state)) is
 * the state again (through JSON, as Postgres stores it), and every command decides the same on it.
 * Property-style: seeded random histories of every account event, each prefix checked.
 */

const ORG = 'org-snap';
const ACCOUNT = `0x${'5a'.repeat(20)}`;
const REASONS: ReleaseReason[] = ['contracted', 'open-failed', 'cancelled', 'failed', 'abandoned'];
const hex32 = (n: number): string => `0x${n.toString(16).padStart(64, '0')}`;

/** A small deterministic PRNG (mulberry32): the same histories on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHistory(seed: number, length: number): AccountEvent[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const jobs = Array.from({ length: 6 }, (_, i) => `job-${seed}-${i}`);
  const refs = Array.from({ length: 3 }, (_, i) => hex32(seed * 10 + i + 1));
  const wei = (): bigint => BigInt(1 + Math.floor(rnd() * 1000)) * 10n ** BigInt(Math.floor(rnd() * 20));
  const history: AccountEvent[] = [];
  // most histories start with the org; a few fold events before it (ignored by evolve)
  if (rnd() < 0.9) history.push(draft('OrgRegistered', { orgId: ORG, name: 'Snap', accountAddress: ACCOUNT, custodyIndex: 7 }));
  while (history.length < length) {
    const r = rnd();
    if (r < 0.35) history.push(draft('FundsReserved', { orgId: ORG, jobId: pick(jobs), amountWei: wei() }));
    else if (r < 0.7) history.push(draft('FundsReleased', { orgId: ORG, jobId: pick(jobs), amountWei: wei(), reason: pick(REASONS) }));
    else if (r < 0.8) history.push(draft('AccountFunded', { orgId: ORG, accountAddress: ACCOUNT, amountWei: wei(), txHash: hex32(Math.floor(rnd() * 50)), ...(rnd() < 0.7 ? { mintRef: pick(refs) } : {}) }));
    else if (r < 0.9) history.push(draft('MintRequested', { orgId: ORG, accountAddress: ACCOUNT, amountWei: wei(), mintRef: pick(refs) }));
    else history.push(draft('MintRestored', { orgId: ORG, mintRef: pick(refs), amountWei: wei(), previousTxHash: hex32(1), txHash: hex32(100 + Math.floor(rnd() * 50)) }));
  }
  return history;
}

const HISTORIES = Array.from({ length: 60 }, (_, seed) => randomHistory(seed + 1, 5 + (seed % 40)));

/** Through JSON, as the snapshot table stores it. */
const roundTrip = <S>(codec: SnapshotCodec<S>, state: S): S | undefined => {
  const encoded = codec.encode(state);
  return encoded === undefined ? undefined : codec.decode(JSON.parse(JSON.stringify(encoded)));
};

const outcome = (run: () => unknown): unknown => {
  try {
    return run();
  } catch (err) {
    return { refused: (err as { code?: string }).code };
  }
};

describe('account snapshot', () => {
  const commands = (history: AccountEvent[], releasesSeen: number): AccountCommand[] => [
    { type: 'ReserveFunds', jobId: 'job-new', amountWei: 10n, balanceWei: 10n ** 30n, releasesSeen },
    ...history.filter((e) => e.type === 'FundsReserved').map((e): AccountCommand => ({ type: 'ReleaseFunds', jobId: e.data.jobId, reason: 'failed' })),
    ...history.filter((e) => e.type === 'FundsReserved').map((e): AccountCommand => ({ type: 'ReserveFunds', jobId: e.data.jobId, amountWei: e.data.amountWei, balanceWei: 10n ** 30n, releasesSeen })),
    { type: 'RecordFunding', amountWei: 5n, txHash: hex32(3) },
    { type: 'RegisterOrg', orgId: ORG, name: 'Snap', accountAddress: ACCOUNT, custodyIndex: 7 },
  ];

  it('round-trips every state of every history, and every command decides the same on it', () => {
    let states = 0;
    for (const history of HISTORIES) {
      let state: AccountState = initialAccountState();
      for (const [i, event] of history.entries()) {
        state = evolveAccount(state, event);
        const back = roundTrip(accountSnapshot, state);
        expect(back).toEqual(state);
        // folding on from the snapshot reaches the same states as folding from the start
        const rest = history.slice(i + 1);
        expect(rest.reduce(evolveAccount, back!)).toEqual(rest.reduce(evolveAccount, state));
        const releasesSeen = state.status === 'active' ? state.releasesSeen : 0;
        for (const c of commands(history, releasesSeen)) expect(outcome(() => accountDecider.decide(c, back!))).toEqual(outcome(() => accountDecider.decide(c, state)));
        states += 1;
      }
    }
    expect(states).toBeGreaterThan(1000);
  });

  it('covers states with open reservations, abandoned jobs and fundings', () => {
    const finals = HISTORIES.map((h) => h.reduce(evolveAccount, initialAccountState())).filter((s) => s.status === 'active');
    expect(finals.some((s) => s.status === 'active' && s.reservations.size > 1)).toBe(true);
    expect(finals.some((s) => s.status === 'active' && s.abandoned.size > 0)).toBe(true);
    expect(finals.some((s) => s.status === 'active' && s.fundingTxHashes.size > 1)).toBe(true);
    expect(HISTORIES.map((h) => h.reduce(evolveAccount, initialAccountState())).some((s) => s.status === 'none')).toBe(true);
  });

  it('is a decider codec with a name, a version and a period', () => {
    expect(accountDecider.snapshot).toBe(accountSnapshot);
    expect(accountSnapshot).toMatchObject({ name: 'account', version: 1 });
    expect(accountSnapshot.every).toBeGreaterThan(0);
  });

  it('refuses a value that is not a fold of the log', () => {
    const state = randomHistory(7, 30).reduce(evolveAccount, initialAccountState());
    const good = JSON.parse(JSON.stringify(accountSnapshot.encode(state))) as Record<string, unknown>;
    const bad: unknown[] = [
      null,
      'active',
      { status: 'gone' },
      { ...good, fundedWei: 12 },
      { ...good, fundedWei: '1e3' },
      { ...good, reservedWei: '1' },
      { ...good, reservations: [['job', '5', 'extra']] },
      { ...good, releasesSeen: -1 },
      { ...good, abandoned: [1] },
      { ...good, orgId: undefined },
    ];
    for (const value of bad) expect(() => accountSnapshot.decode(value)).toThrow();
  });
});

describe('mint snapshot', () => {
  const mintCommands = (history: AccountEvent[]): MintCommand[] =>
    history.flatMap((e): MintCommand[] =>
      e.type === 'MintRequested'
        ? [
            { type: 'RequestMint', mintRef: e.data.mintRef, amountWei: e.data.amountWei },
            { type: 'RecordMint', mintRef: e.data.mintRef, txHash: hex32(999) },
            { type: 'RestoreMint', mintRef: e.data.mintRef, txHash: hex32(998) },
          ]
        : [],
    );

  it('round-trips every state without a mint from before references, and decides the same on it', () => {
    let states = 0;
    for (const full of HISTORIES) {
      const history = full.filter((e) => !(e.type === 'AccountFunded' && e.data.mintRef === undefined));
      let state: MintState = initialMintState();
      for (const event of history) {
        state = evolveMint(state, event);
        const back = roundTrip(mintSnapshot, state);
        expect(back).toEqual(state);
        for (const c of mintCommands(history)) expect(outcome(() => mintDecider.decide(c, back!))).toEqual(outcome(() => mintDecider.decide(c, state)));
        states += 1;
      }
    }
    expect(states).toBeGreaterThan(1000);
  });

  it('declines to snapshot a state that folded a mint from before references (the faucet looks those up in the events)', () => {
    const legacy = [
      draft('OrgRegistered', { orgId: ORG, name: 'Snap', accountAddress: ACCOUNT, custodyIndex: 7 }),
      draft('AccountFunded', { orgId: ORG, accountAddress: ACCOUNT, amountWei: 5n, txHash: hex32(4) }),
    ] as AccountEvent[];
    const state = legacy.reduce(evolveMint, initialMintState());
    expect(mintSnapshot.encode(state)).toBeUndefined();
    expect(mintDecider.snapshot).toBe(mintSnapshot);
  });

  it('refuses a value of another shape', () => {
    for (const value of [null, { org: null }, { org: null, mints: [{ mintRef: 'r', accountAddress: ACCOUNT, amountWei: 'x', txHash: null }] }, { org: 5, mints: [] }]) {
      expect(() => mintSnapshot.decode(value)).toThrow();
    }
  });
});

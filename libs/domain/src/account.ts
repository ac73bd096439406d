import { LIMITS, type AggregateEvent, type EventData } from '@starminer/events';
import { assertNever, draft, snapshotValue as v, SnapshotShapeError, type Decider, type Draft, type JsonValue, type SnapshotCodec } from './decider';
import { refuse } from './errors';

export type AccountEvent = AggregateEvent<'account'>;

/** Why a reservation ended (the catalogue's FundsReleased reasons). */
export type ReleaseReason = EventData<'FundsReleased'>['reason'];

export type AccountCommand =
  | { readonly type: 'RegisterOrg'; readonly orgId: string; readonly name: string; readonly accountAddress: string; readonly custodyIndex: number }
  | { readonly type: 'RecordFunding'; readonly amountWei: bigint; readonly txHash: string }
  | {
      /**
       * Reserve a job's budget against the org's balance. `balanceWei` is the token balance of the
       * org's account on chain, read at the edge AFTER the account state at `releasesSeen` was read
       * (see `AccountState.releasesSeen`): a balance read before a release that the state already
       * shows could count the same AGPU twice (in the balance and as no longer reserved).
       */
      readonly type: 'ReserveFunds';
      readonly jobId: string;
      readonly amountWei: bigint;
      readonly balanceWei: bigint;
      readonly releasesSeen: number;
    }
  | { readonly type: 'ReleaseFunds'; readonly jobId: string; readonly reason: ReleaseReason };

export type AccountState =
  | { readonly status: 'none' }
  | {
      readonly status: 'active';
      readonly orgId: string;
      readonly accountAddress: string;
      readonly fundedWei: bigint;
      /** Mint transactions already recorded: a redelivered funding counts once. */
      readonly fundingTxHashes: ReadonlySet<string>;
      /** Open reservations, jobId -> amountWei: budgets of jobs whose escrow has not taken them yet. */
      readonly reservations: ReadonlyMap<string, bigint>;
      /** The sum of `reservations`. */
      readonly reservedWei: bigint;
      /**
       * FundsReleased events folded so far. A reservation decision takes a balance read after the
       * state it decides on; when a release came in between, the balance may predate it.
       */
      readonly releasesSeen: number;
      /**
       * Jobs whose reservation was released as abandoned (no JobSubmitted within the bound) and not
       * reserved again: a JobSubmitted that lands after that release reserves again. Only these are
       * remembered, so the state stays as small as the org's open work.
       */
      readonly abandoned: ReadonlySet<string>;
    };

export const initialAccountState = (): AccountState => ({ status: 'none' });

export function validateFaucetAmount(amountWei: bigint): void {
  if (amountWei <= 0n) refuse('AMOUNT_NOT_POSITIVE', 'amountWei must be greater than 0');
  if (amountWei > LIMITS.faucetAmountWeiMax)
    refuse('FAUCET_LIMIT', `the faucet mints at most ${LIMITS.faucetAmountWeiMax} wei per call`, { limit: LIMITS.faucetAmountWeiMax.toString() });
}

export function decideAccount(command: AccountCommand, state: AccountState): Draft<AccountEvent['type']>[] {
  switch (command.type) {
    case 'RegisterOrg':
      if (state.status !== 'none') return refuse('ORG_EXISTS', `org ${command.orgId} exists`);
      return [draft('OrgRegistered', { orgId: command.orgId, name: command.name, accountAddress: command.accountAddress, custodyIndex: command.custodyIndex })];
    case 'RecordFunding':
      if (state.status === 'none') return refuse('ORG_NOT_FOUND', 'no such org');
      if (state.fundingTxHashes.has(command.txHash.toLowerCase())) return [];
      validateFaucetAmount(command.amountWei);
      return [draft('AccountFunded', { orgId: state.orgId, accountAddress: state.accountAddress, amountWei: command.amountWei, txHash: command.txHash })];
    case 'ReserveFunds': {
      if (state.status === 'none') return refuse('ORG_NOT_FOUND', 'no such org');
      const open = state.reservations.get(command.jobId);
      if (open !== undefined) {
        if (open === command.amountWei) return []; // a retry of the same submission: reserved once
        return refuse('JOB_ID_IN_USE', `job id ${command.jobId} holds a reservation of another amount`, { jobId: command.jobId });
      }
      if (command.amountWei <= 0n) return refuse('BUDGET_NOT_POSITIVE', 'amountWei must be greater than 0');
      if (command.releasesSeen !== state.releasesSeen)
        return refuse('FUNDS_VIEW_STALE', 'a reservation was released after the balance was read; read the balance again', {
          releasesSeen: command.releasesSeen,
          releasesNow: state.releasesSeen,
        });
      const availableWei = command.balanceWei > state.reservedWei ? command.balanceWei - state.reservedWei : 0n;
      if (command.amountWei > availableWei)
        return refuse('INSUFFICIENT_FUNDS', `budget ${command.amountWei} exceeds the org's available ${availableWei} AGPU wei`, {
          budgetWei: command.amountWei.toString(),
          availableWei: availableWei.toString(),
        });
      return [draft('FundsReserved', { orgId: state.orgId, jobId: command.jobId, amountWei: command.amountWei })];
    }
    case 'ReleaseFunds': {
      if (state.status === 'none') return refuse('ORG_NOT_FOUND', 'no such org');
      const open = state.reservations.get(command.jobId);
      // released already, or never reserved (a job submitted before reservations existed): nothing to do
      if (open === undefined) return [];
      return [draft('FundsReleased', { orgId: state.orgId, jobId: command.jobId, amountWei: open, reason: command.reason })];
    }
    default:
      return assertNever(command);
  }
}

/** What the org may still commit: its balance on chain less its open reservations (never below 0). */
export function spendableWei(state: AccountState, balanceWei: bigint): bigint {
  if (state.status === 'none') return 0n;
  return balanceWei > state.reservedWei ? balanceWei - state.reservedWei : 0n;
}

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'OrgRegistered':
      return {
        status: 'active',
        orgId: event.data.orgId,
        accountAddress: event.data.accountAddress,
        fundedWei: 0n,
        fundingTxHashes: new Set(),
        reservations: new Map(),
        reservedWei: 0n,
        releasesSeen: 0,
        abandoned: new Set(),
      };
    case 'AccountFunded':
      if (state.status !== 'active') return state;
      return { ...state, fundedWei: state.fundedWei + event.data.amountWei, fundingTxHashes: new Set([...state.fundingTxHashes, event.data.txHash.toLowerCase()]) };
    case 'FundsReserved': {
      if (state.status !== 'active' || state.reservations.has(event.data.jobId)) return state;
      const reservations = new Map(state.reservations).set(event.data.jobId, event.data.amountWei);
      const abandoned = state.abandoned.has(event.data.jobId) ? withoutKey(state.abandoned, event.data.jobId) : state.abandoned;
      return { ...state, reservations, reservedWei: state.reservedWei + event.data.amountWei, abandoned };
    }
    case 'FundsReleased': {
      if (state.status !== 'active') return state;
      const open = state.reservations.get(event.data.jobId);
      const releasesSeen = state.releasesSeen + 1;
      if (open === undefined) return { ...state, releasesSeen };
      const reservations = new Map(state.reservations);
      reservations.delete(event.data.jobId);
      const abandoned = event.data.reason === 'abandoned' ? new Set(state.abandoned).add(event.data.jobId) : state.abandoned;
      return { ...state, reservations, reservedWei: state.reservedWei - open, releasesSeen, abandoned };
    }
    // mint requests: folded by the mint decider (issue 9 work in progress)
    case 'MintRequested':
    case 'MintRestored':
      return state;
    default:
      return assertNever(event);
  }
}

function withoutKey(set: ReadonlySet<string>, key: string): ReadonlySet<string> {
  const next = new Set(set);
  next.delete(key);
  return next;
}

/** A snapshot of an org's account is saved every this many events folded (about half as many jobs). */
export const ACCOUNT_SNAPSHOT_EVERY = 200;

/**
 * The account's snapshot: every job appends FundsReserved and FundsReleased here, so an org's
 * history grows without end while its state does not. What the state holds, and why it is bounded:
 * - `reservations`: open reservations only (released ones are deleted): the org's open work.
 * - `abandoned`: jobs released as abandoned (a crash between the reservation and the job) and not
 *   reserved again. Not pruned: a JobSubmitted may land after the release at any later time, and
 *   the edge then reserves again only if the job is here; it grows with crashes, not with jobs.
 * - `fundingTxHashes`: one per recorded funding (RecordFunding deduplicates by it for the life of
 *   the account); it grows with mints, each a faucet call of up to the faucet's maximum, not with jobs.
 * - the rest are scalars. Bigints travel as decimal strings, sets and maps as arrays in their order.
 */
export const accountSnapshot: SnapshotCodec<AccountState> = {
  name: 'account',
  version: 1,
  every: ACCOUNT_SNAPSHOT_EVERY,
  encode(state: AccountState): JsonValue {
    if (state.status === 'none') return { status: 'none' };
    return {
      status: 'active',
      orgId: state.orgId,
      accountAddress: state.accountAddress,
      fundedWei: state.fundedWei.toString(),
      fundingTxHashes: [...state.fundingTxHashes],
      reservations: [...state.reservations].map(([jobId, amountWei]) => [jobId, amountWei.toString()]),
      reservedWei: state.reservedWei.toString(),
      releasesSeen: state.releasesSeen,
      abandoned: [...state.abandoned],
    };
  },
  decode(value: unknown): AccountState {
    const o = v.record(value, 'account');
    if (o.status === 'none') return { status: 'none' };
    if (o.status !== 'active') throw new SnapshotShapeError(`account: status ${String(o.status)}`);
    const reservations = new Map<string, bigint>();
    for (const [i, entry] of v.array(o.reservations, 'reservations').entries()) {
      const [jobId, amountWei, ...rest] = v.array(entry, `reservations[${i}]`);
      if (rest.length > 0) throw new SnapshotShapeError(`reservations[${i}]: not a pair`);
      reservations.set(v.string(jobId, `reservations[${i}].jobId`), v.bigint(amountWei, `reservations[${i}].amountWei`));
    }
    const reservedWei = v.bigint(o.reservedWei, 'reservedWei');
    // the invariant evolve keeps: a snapshot that breaks it is not a fold of the log
    if ([...reservations.values()].reduce((a, b) => a + b, 0n) !== reservedWei) throw new SnapshotShapeError('account: reservedWei is not the sum of its reservations');
    return {
      status: 'active',
      orgId: v.string(o.orgId, 'orgId'),
      accountAddress: v.string(o.accountAddress, 'accountAddress'),
      fundedWei: v.bigint(o.fundedWei, 'fundedWei'),
      fundingTxHashes: new Set(v.strings(o.fundingTxHashes, 'fundingTxHashes')),
      reservations,
      reservedWei,
      releasesSeen: v.count(o.releasesSeen, 'releasesSeen'),
      abandoned: new Set(v.strings(o.abandoned, 'abandoned')),
    };
  },
};

export const accountDecider: Decider<'account', AccountCommand, AccountState> = {
  aggregate: 'account',
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccountState,
  snapshot: accountSnapshot,
};

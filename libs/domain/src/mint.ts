import type { AggregateEvent } from '@starminer/events';
import { validateFaucetAmount } from './account';
import { assertNever, draft, snapshotValue as v, SnapshotShapeError, type Decider, type Draft, type JsonValue, type SnapshotCodec } from './decider';
import { refuse } from './errors';

/**
 * Faucet mints on the org's account aggregate, each under its reference (`mintRef`, the token mints
 * a reference once): requested before its transaction is sent, funded once the mint is final on
 * chain, restored when the chain lost it and it was minted again. It folds OrgRegistered (the org
 * and its account), MintRequested, AccountFunded (those with a mintRef) and MintRestored; every
 * other account event is another decider's.
 */
export type MintCommand =
  /** Before the transaction: idempotent per reference (the same amount again appends nothing). */
  | { readonly type: 'RequestMint'; readonly mintRef: string; readonly amountWei: bigint }
  /** The mint is final on chain: AccountFunded once per reference. */
  | { readonly type: 'RecordMint'; readonly mintRef: string; readonly txHash: string }
  /** The chain lost the recorded mint and `txHash` minted it again: MintRestored, once per new transaction. */
  | { readonly type: 'RestoreMint'; readonly mintRef: string; readonly txHash: string };

export interface FaucetMint {
  readonly mintRef: string;
  readonly accountAddress: string;
  readonly amountWei: bigint;
  /** The transaction that holds the mint as the log knows it (the latest restore's); null until funded. */
  readonly txHash: string | null;
}

export interface MintState {
  readonly org: { readonly orgId: string; readonly accountAddress: string } | null;
  /** By reference, lower case. */
  readonly mints: ReadonlyMap<string, FaucetMint>;
  /**
   * An AccountFunded without a mintRef was folded (a mint recorded before references existed): the
   * faucet answers those by their request id from the events themselves, so such a state is never
   * snapshotted and its loads keep every event.
   */
  readonly legacyFunded?: true;
}

export const initialMintState = (): MintState => ({ org: null, mints: new Map() });

export const mintOf = (state: MintState, mintRef: string): FaucetMint | undefined => state.mints.get(mintRef.toLowerCase());

type MintEvent = AggregateEvent<'account'>;

export function decideMint(command: MintCommand, state: MintState): Draft<MintEvent['type']>[] {
  const org = state.org;
  if (!org) return refuse('ORG_NOT_FOUND', 'no such org');
  const mint = mintOf(state, command.mintRef);
  switch (command.type) {
    case 'RequestMint':
      validateFaucetAmount(command.amountWei);
      if (mint) {
        if (mint.amountWei === command.amountWei) return [];
        return refuse('IDEMPOTENCY_KEY_REUSED', `this request was made for ${mint.amountWei} wei, not ${command.amountWei}`, { amountWei: mint.amountWei.toString() });
      }
      return [draft('MintRequested', { orgId: org.orgId, accountAddress: org.accountAddress, amountWei: command.amountWei, mintRef: command.mintRef })];
    case 'RecordMint':
      if (!mint) return refuse('MINT_NOT_FOUND', `no faucet request with reference ${command.mintRef}`);
      if (mint.txHash !== null) return [];
      return [draft('AccountFunded', { orgId: org.orgId, accountAddress: mint.accountAddress, amountWei: mint.amountWei, txHash: command.txHash, mintRef: mint.mintRef })];
    case 'RestoreMint':
      if (!mint || mint.txHash === null) return refuse('MINT_NOT_FOUND', `no recorded faucet mint with reference ${command.mintRef}`);
      if (mint.txHash.toLowerCase() === command.txHash.toLowerCase()) return [];
      return [draft('MintRestored', { orgId: org.orgId, mintRef: mint.mintRef, amountWei: mint.amountWei, previousTxHash: mint.txHash, txHash: command.txHash })];
    default:
      return assertNever(command);
  }
}

const withMint = (state: MintState, mint: FaucetMint): MintState => ({ ...state, mints: new Map(state.mints).set(mint.mintRef.toLowerCase(), mint) });

export function evolveMint(state: MintState, event: MintEvent): MintState {
  switch (event.type) {
    case 'OrgRegistered':
      return { ...state, org: { orgId: event.data.orgId, accountAddress: event.data.accountAddress } };
    case 'MintRequested': {
      if (mintOf(state, event.data.mintRef)) return state;
      const d = event.data;
      return withMint(state, { mintRef: d.mintRef, accountAddress: d.accountAddress, amountWei: d.amountWei, txHash: null });
    }
    case 'AccountFunded': {
      const d = event.data;
      // a mint recorded before references existed: the faucet answers it by its request id
      if (d.mintRef === undefined) return state.legacyFunded ? state : { ...state, legacyFunded: true };
      const mint = mintOf(state, d.mintRef);
      if (mint?.txHash) return state;
      return withMint(state, { mintRef: d.mintRef, accountAddress: d.accountAddress, amountWei: d.amountWei, txHash: d.txHash });
    }
    case 'MintRestored': {
      const mint = mintOf(state, event.data.mintRef);
      if (!mint) return state;
      return withMint(state, { ...mint, txHash: event.data.txHash });
    }
    default:
      return state;
  }
}

/** The faucet reads the org's account subject, which every job grows (reservations): a snapshot every this many events. */
export const MINT_SNAPSHOT_EVERY = 500;

/**
 * The faucet's snapshot of an org's account subject: the org and its mints (one per faucet call).
 * A state with a mint from before references (`legacyFunded`) is not snapshotted: the faucet looks
 * those up in the events, so its loads must keep all of them.
 */
export const mintSnapshot: SnapshotCodec<MintState> = {
  name: 'mint',
  version: 1,
  every: MINT_SNAPSHOT_EVERY,
  encode(state: MintState): JsonValue | undefined {
    if (state.legacyFunded) return undefined;
    return {
      org: state.org && { orgId: state.org.orgId, accountAddress: state.org.accountAddress },
      mints: [...state.mints.values()].map((m) => ({ mintRef: m.mintRef, accountAddress: m.accountAddress, amountWei: m.amountWei.toString(), txHash: m.txHash })),
    };
  },
  decode(value: unknown): MintState {
    const o = v.record(value, 'mint');
    const org = o.org === null ? null : v.record(o.org, 'org');
    const mints = new Map<string, FaucetMint>();
    for (const [i, raw] of v.array(o.mints, 'mints').entries()) {
      const m = v.record(raw, `mints[${i}]`);
      const mint: FaucetMint = {
        mintRef: v.string(m.mintRef, `mints[${i}].mintRef`),
        accountAddress: v.string(m.accountAddress, `mints[${i}].accountAddress`),
        amountWei: v.bigint(m.amountWei, `mints[${i}].amountWei`),
        txHash: v.nullableString(m.txHash, `mints[${i}].txHash`),
      };
      if (mints.has(mint.mintRef.toLowerCase())) throw new SnapshotShapeError(`mints[${i}]: ${mint.mintRef} twice`);
      mints.set(mint.mintRef.toLowerCase(), mint);
    }
    return { org: org && { orgId: v.string(org.orgId, 'org.orgId'), accountAddress: v.string(org.accountAddress, 'org.accountAddress') }, mints };
  },
};

export const mintDecider: Decider<'account', MintCommand, MintState> = { aggregate: 'account', decide: decideMint, evolve: evolveMint, initialState: initialMintState, snapshot: mintSnapshot };

import { LIMITS, type AggregateEvent } from '@starminer/events';
import { assertNever, draft, type Decider, type Draft } from './decider';
import { refuse } from './errors';

export type AccountEvent = AggregateEvent<'account'>;

export type AccountCommand =
  | { readonly type: 'RegisterOrg'; readonly orgId: string; readonly name: string; readonly accountAddress: string; readonly custodyIndex: number }
  | { readonly type: 'RecordFunding'; readonly amountWei: bigint; readonly txHash: string };

export type AccountState =
  | { readonly status: 'none' }
  | {
      readonly status: 'active';
      readonly orgId: string;
      readonly accountAddress: string;
      readonly fundedWei: bigint;
      /** Mint transactions already recorded: a redelivered funding counts once. */
      readonly fundingTxHashes: ReadonlySet<string>;
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
    default:
      return assertNever(command);
  }
}

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'OrgRegistered':
      return { status: 'active', orgId: event.data.orgId, accountAddress: event.data.accountAddress, fundedWei: 0n, fundingTxHashes: new Set() };
    case 'AccountFunded':
      if (state.status !== 'active') return state;
      return { ...state, fundedWei: state.fundedWei + event.data.amountWei, fundingTxHashes: new Set([...state.fundingTxHashes, event.data.txHash.toLowerCase()]) };
    // reservations and mint requests: folded by their own deciders (issue 9 work in progress)
    case 'MintRequested':
    case 'MintRestored':
    case 'FundsReserved':
    case 'FundsReleased':
      return state;
    default:
      return assertNever(event);
  }
}

export const accountDecider: Decider<'account', AccountCommand, AccountState> = { aggregate: 'account', decide: decideAccount, evolve: evolveAccount, initialState: initialAccountState };

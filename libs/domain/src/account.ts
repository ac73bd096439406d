import type { EventData, TradeEvent } from '@starminer/events';
import { assertNever, draft, type Draft } from './decider';
import { refuse } from './errors';

/** The most the dev faucet mints in one call. */
export const FAUCET_AMOUNT_WEI_MAX = 1_000_000n * 10n ** 18n;

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
  if (amountWei <= 0n) refuse('AMOUNT_NOT_POSITIVE', 'invalid', 'amountWei must be greater than 0');
  if (amountWei > FAUCET_AMOUNT_WEI_MAX)
    refuse('FAUCET_LIMIT', 'invalid', `the faucet mints at most ${FAUCET_AMOUNT_WEI_MAX} wei per call`, { limit: FAUCET_AMOUNT_WEI_MAX.toString() });
}

export function decideAccount(command: AccountCommand, state: AccountState): Draft[] {
  switch (command.type) {
    case 'RegisterOrg':
      if (state.status !== 'none') return refuse('ORG_EXISTS', 'conflict', `org ${command.orgId} exists`);
      return [draft('OrgRegistered', { orgId: command.orgId, name: command.name, accountAddress: command.accountAddress, custodyIndex: command.custodyIndex })];
    case 'RecordFunding':
      if (state.status === 'none') return refuse('ORG_NOT_FOUND', 'not-found', 'no such org');
      if (state.fundingTxHashes.has(command.txHash.toLowerCase())) return [];
      validateFaucetAmount(command.amountWei);
      return [draft('AccountFunded', { orgId: state.orgId, accountAddress: state.accountAddress, amountWei: command.amountWei, txHash: command.txHash })];
    default:
      return assertNever(command);
  }
}

export function evolveAccount(state: AccountState, event: Pick<TradeEvent, 'type' | 'data'>): AccountState {
  switch (event.type) {
    case 'OrgRegistered': {
      const d = event.data as EventData<'OrgRegistered'>;
      return { status: 'active', orgId: d.orgId, accountAddress: d.accountAddress, fundedWei: 0n, fundingTxHashes: new Set() };
    }
    case 'AccountFunded': {
      if (state.status !== 'active') return state;
      const d = event.data as EventData<'AccountFunded'>;
      return { ...state, fundedWei: state.fundedWei + d.amountWei, fundingTxHashes: new Set([...state.fundingTxHashes, d.txHash.toLowerCase()]) };
    }
    default:
      return state;
  }
}

export const accountDecider = { decide: decideAccount, evolve: evolveAccount, initialState: initialAccountState };

import { LIMITS } from '@starminer/events';
import { draft } from './decider';
import { mintDecider, mintOf, type MintCommand } from './mint';
import { specFor } from './spec-kit';

const given = specFor(mintDecider);

const ORG_ID = 'org-1';
const ACCOUNT = '0x1111111111111111111111111111111111111111';
const AGPU = 10n ** 18n;
const REF_1 = `0x${'e1'.repeat(32)}`;
const REF_2 = `0x${'e2'.repeat(32)}`;
const TX_1 = `0x${'a1'.repeat(32)}`;
const TX_2 = `0x${'a2'.repeat(32)}`;
const TX_3 = `0x${'a3'.repeat(32)}`;

const orgRegistered = draft('OrgRegistered', { orgId: ORG_ID, name: 'Acme', accountAddress: ACCOUNT, custodyIndex: 0 });
const requested = (ref = REF_1, amountWei = 5n * AGPU) => draft('MintRequested', { orgId: ORG_ID, accountAddress: ACCOUNT, amountWei, mintRef: ref });
const funded = (ref = REF_1, txHash = TX_1, amountWei = 5n * AGPU) => draft('AccountFunded', { orgId: ORG_ID, accountAddress: ACCOUNT, amountWei, txHash, mintRef: ref });
const restored = (previousTxHash: string, txHash: string, ref = REF_1) => draft('MintRestored', { orgId: ORG_ID, mintRef: ref, amountWei: 5n * AGPU, previousTxHash, txHash });
const request = (ref = REF_1, amountWei = 5n * AGPU): MintCommand => ({ type: 'RequestMint', mintRef: ref, amountWei });
const record = (txHash = TX_1, ref = REF_1): MintCommand => ({ type: 'RecordMint', mintRef: ref, txHash });
const restore = (txHash: string, ref = REF_1): MintCommand => ({ type: 'RestoreMint', mintRef: ref, txHash });

describe('mint decider (faucet mints by reference)', () => {
  describe('RequestMint', () => {
    it('requests a mint to the org account before any transaction', () => {
      given([orgRegistered]).when(request()).then([requested()]);
    });

    it('appends nothing for the same request again, requested or already funded', () => {
      given([orgRegistered, requested()]).when(request()).then([]);
      given([orgRegistered, requested(), funded()]).when(request()).then([]);
    });

    it('refuses the same reference for another amount (IDEMPOTENCY_KEY_REUSED)', () => {
      given([orgRegistered, requested()]).when(request(REF_1, 6n * AGPU)).thenThrows('IDEMPOTENCY_KEY_REUSED');
    });

    it('requests another reference on its own', () => {
      given([orgRegistered, requested(), funded()]).when(request(REF_2, AGPU)).then([requested(REF_2, AGPU)]);
    });

    it.each([
      ['an unknown org', [], request(), 'ORG_NOT_FOUND'],
      ['an amount of 0', [orgRegistered], request(REF_1, 0n), 'AMOUNT_NOT_POSITIVE'],
      ['more than the faucet limit', [orgRegistered], request(REF_1, LIMITS.faucetAmountWeiMax + 1n), 'FAUCET_LIMIT'],
    ])('refuses %s', (_what, events, command, code) => {
      given(events).when(command).thenThrows(code);
    });
  });

  describe('RecordMint', () => {
    it('records a requested mint as AccountFunded with its reference', () => {
      given([orgRegistered, requested()]).when(record()).then([funded()]);
    });

    it('records a reference once, whatever transaction a second record names', () => {
      given([orgRegistered, requested(), funded()]).when(record()).then([]);
      given([orgRegistered, requested(), funded()]).when(record(TX_2)).then([]);
    });

    it('refuses a reference never requested, and an unknown org', () => {
      given([orgRegistered]).when(record()).thenThrows('MINT_NOT_FOUND');
      given([]).when(record()).thenThrows('ORG_NOT_FOUND');
    });

    it('ignores the other account events and funding recorded before references', () => {
      const legacy = draft('AccountFunded', { orgId: ORG_ID, accountAddress: ACCOUNT, amountWei: AGPU, txHash: TX_3 });
      const reservation = draft('FundsReserved', { orgId: ORG_ID, jobId: 'job-1', amountWei: AGPU });
      given([orgRegistered, legacy, reservation, requested()]).when(record()).then([funded()]);
    });
  });

  describe('RestoreMint', () => {
    it('records a mint the chain lost and that was minted again, naming the transaction it replaces', () => {
      given([orgRegistered, requested(), funded()]).when(restore(TX_2)).then([restored(TX_1, TX_2)]);
    });

    it('appends nothing when the log already names that transaction, and restores from the latest one', () => {
      given([orgRegistered, requested(), funded(), restored(TX_1, TX_2)]).when(restore(TX_2)).then([]);
      given([orgRegistered, requested(), funded(), restored(TX_1, TX_2)]).when(restore(TX_3)).then([restored(TX_2, TX_3)]);
    });

    it('refuses a reference requested but not yet recorded (it is finished, not restored)', () => {
      given([orgRegistered, requested()]).when(restore(TX_2)).thenThrows('MINT_NOT_FOUND');
      given([orgRegistered]).when(restore(TX_2)).thenThrows('MINT_NOT_FOUND');
    });
  });

  it('folds a mint by its reference, whatever its case', () => {
    const state = [orgRegistered, requested(), funded(), restored(TX_1, TX_2)].reduce(mintDecider.evolve, mintDecider.initialState());
    expect(mintOf(state, REF_1.toUpperCase().replace('0X', '0x'))).toEqual({ mintRef: REF_1, accountAddress: ACCOUNT, amountWei: 5n * AGPU, txHash: TX_2 });
    expect(mintOf(state, REF_2)).toBeUndefined();
  });
});

import { accountDecider, evolveAccount, initialAccountState, spendableWei, type AccountEvent, validateFaucetAmount, type AccountCommand, type AccountState, type ReleaseReason } from './account';
import { LIMITS } from '@starminer/events';
import { draft } from './decider';
import { specFor } from './spec-kit';

const given = specFor(accountDecider);

const ORG_ID = 'org-1';
const ACCOUNT_ADDRESS = '0x1111111111111111111111111111111111111111';
const AGPU_WEI = 10n ** 18n;
const TX_1 = `0x${'a1'.repeat(32)}`;
const TX_2 = `0x${'a2'.repeat(32)}`;

const registerOrg: AccountCommand = { type: 'RegisterOrg', orgId: ORG_ID, name: 'Acme', accountAddress: ACCOUNT_ADDRESS, custodyIndex: 3 };
const orgRegistered = draft('OrgRegistered', { orgId: ORG_ID, name: 'Acme', accountAddress: ACCOUNT_ADDRESS, custodyIndex: 3 });
const funding = (amountWei: bigint, txHash = TX_1): AccountCommand => ({ type: 'RecordFunding', amountWei, txHash });
const funded = (amountWei: bigint, txHash = TX_1): AccountEvent => draft('AccountFunded', { orgId: ORG_ID, accountAddress: ACCOUNT_ADDRESS, amountWei, txHash });

const reserve = (jobId: string, amountWei: bigint, balanceWei: bigint, releasesSeen = 0): AccountCommand => ({ type: 'ReserveFunds', jobId, amountWei, balanceWei, releasesSeen });
const reserved = (jobId: string, amountWei: bigint): AccountEvent => draft('FundsReserved', { orgId: ORG_ID, jobId, amountWei });
const release = (jobId: string, reason: ReleaseReason): AccountCommand => ({ type: 'ReleaseFunds', jobId, reason });
const released = (jobId: string, amountWei: bigint, reason: ReleaseReason): AccountEvent => draft('FundsReleased', { orgId: ORG_ID, jobId, amountWei, reason });

const fold = (events: AccountEvent[]): AccountState => events.reduce(evolveAccount, initialAccountState());

describe('account decider', () => {
  describe('RegisterOrg', () => {
    it('registers an org with its custodial account', () => {
      given([]).when(registerOrg).then([orgRegistered]);
    });

    it('refuses an org that exists', () => {
      given([orgRegistered]).when(registerOrg).thenThrows('ORG_EXISTS');
      given([orgRegistered, funded(AGPU_WEI)]).when({ ...registerOrg, name: 'Other' }).thenThrows('ORG_EXISTS');
    });
  });

  describe('RecordFunding', () => {
    it('records a faucet mint to the org account', () => {
      given([orgRegistered]).when(funding(5n * AGPU_WEI)).then([funded(5n * AGPU_WEI)]);
    });

    it('accepts the faucet maximum and the smallest amount', () => {
      given([orgRegistered]).when(funding(LIMITS.faucetAmountWeiMax)).then([funded(LIMITS.faucetAmountWeiMax)]);
      given([orgRegistered]).when(funding(1n)).then([funded(1n)]);
    });

    it('records a second mint with its own transaction', () => {
      given([orgRegistered, funded(AGPU_WEI, TX_1)]).when(funding(2n * AGPU_WEI, TX_2)).then([funded(2n * AGPU_WEI, TX_2)]);
    });

    it('refuses an unknown org', () => {
      given([]).when(funding(AGPU_WEI)).thenThrows('ORG_NOT_FOUND');
    });

    it('looks up the org before the amount', () => {
      given([]).when(funding(0n)).thenThrows('ORG_NOT_FOUND');
    });

    it.each([
      ['AMOUNT_NOT_POSITIVE', 0n],
      ['AMOUNT_NOT_POSITIVE', -1n],
      ['FAUCET_LIMIT', LIMITS.faucetAmountWeiMax + 1n],
    ])('refuses %s for %p wei', (code, amountWei) => {
      given([orgRegistered]).when(funding(amountWei)).thenThrows(code);
    });

    it('names the faucet limit in the refusal', () => {
      expect(() => validateFaucetAmount(LIMITS.faucetAmountWeiMax + 1n)).toThrow(
        expect.objectContaining({ kind: 'invalid', details: { limit: LIMITS.faucetAmountWeiMax.toString() } }),
      );
    });

    // UNHANDLED (account.ts:113-116): the account state does not remember which transactions it has
    // recorded, so a redelivered RecordFunding for the same txHash appends a second AccountFunded and
    // fundedWei counts the mint twice. Node reputation guards the same case with `countedJobIds`.
    // Expected: [] for a txHash already recorded; actual: [AccountFunded(5 AGPU, TX_1)] again.
    it('records nothing for a mint whose transaction is already recorded (a redelivery)', () => {
      given([orgRegistered, funded(5n * AGPU_WEI, TX_1)]).when(funding(5n * AGPU_WEI, TX_1)).then([]);
    });
  });

  describe('ReserveFunds', () => {
    it('reserves a budget the balance covers', () => {
      given([orgRegistered]).when(reserve('job-1', 4n * AGPU_WEI, 10n * AGPU_WEI)).then([reserved('job-1', 4n * AGPU_WEI)]);
    });

    it('counts open reservations against the balance: the whole rest fits, one wei more does not', () => {
      const past = [orgRegistered, reserved('job-1', 6n * AGPU_WEI)];
      given(past).when(reserve('job-2', 4n * AGPU_WEI, 10n * AGPU_WEI)).then([reserved('job-2', 4n * AGPU_WEI)]);
      given(past).when(reserve('job-2', 4n * AGPU_WEI + 1n, 10n * AGPU_WEI)).thenThrows('INSUFFICIENT_FUNDS');
    });

    it('names what is available in the refusal', () => {
      const state = fold([orgRegistered, reserved('job-1', 6n * AGPU_WEI)]);
      expect(() => accountDecider.decide(reserve('job-2', 5n * AGPU_WEI, 10n * AGPU_WEI), state)).toThrow(
        expect.objectContaining({ code: 'INSUFFICIENT_FUNDS', kind: 'insufficient-funds', details: { budgetWei: (5n * AGPU_WEI).toString(), availableWei: (4n * AGPU_WEI).toString() } }),
      );
    });

    it('refuses anything when reservations exceed the balance (the balance fell on chain)', () => {
      given([orgRegistered, reserved('job-1', 6n * AGPU_WEI)]).when(reserve('job-2', 1n, 5n * AGPU_WEI)).thenThrows('INSUFFICIENT_FUNDS');
    });

    it('released reservations no longer count', () => {
      const past = [orgRegistered, reserved('job-1', 6n * AGPU_WEI), released('job-1', 6n * AGPU_WEI, 'cancelled')];
      given(past).when(reserve('job-2', 10n * AGPU_WEI, 10n * AGPU_WEI, 1)).then([reserved('job-2', 10n * AGPU_WEI)]);
    });

    it('is idempotent per job: the same reservation again records nothing, even when the balance fell since', () => {
      given([orgRegistered, reserved('job-1', 6n * AGPU_WEI)]).when(reserve('job-1', 6n * AGPU_WEI, 0n)).then([]);
    });

    it('refuses a job id that holds a reservation of another amount', () => {
      given([orgRegistered, reserved('job-1', 6n * AGPU_WEI)]).when(reserve('job-1', 5n * AGPU_WEI, 100n * AGPU_WEI)).thenThrows('JOB_ID_IN_USE');
    });

    it('refuses a balance read before a release the state already shows (it could count the escrowed AGPU twice)', () => {
      const past = [orgRegistered, reserved('job-1', 6n * AGPU_WEI), released('job-1', 6n * AGPU_WEI, 'contracted')];
      given(past).when(reserve('job-2', AGPU_WEI, 10n * AGPU_WEI, 0)).thenThrows('FUNDS_VIEW_STALE');
    });

    it('reserves again a job whose reservation was released as abandoned', () => {
      const past = [orgRegistered, reserved('job-1', 6n * AGPU_WEI), released('job-1', 6n * AGPU_WEI, 'abandoned')];
      given(past).when(reserve('job-1', 6n * AGPU_WEI, 10n * AGPU_WEI, 1)).then([reserved('job-1', 6n * AGPU_WEI)]);
    });

    it.each([
      ['ORG_NOT_FOUND', [] as AccountEvent[], AGPU_WEI],
      ['BUDGET_NOT_POSITIVE', [orgRegistered], 0n],
    ])('refuses %s', (code, past, amountWei) => {
      given(past).when(reserve('job-1', amountWei, 10n * AGPU_WEI)).thenThrows(code);
    });
  });

  describe('ReleaseFunds', () => {
    it.each(['contracted', 'open-failed', 'cancelled', 'failed', 'abandoned'] as const)('releases an open reservation (%s) with its amount', (reason) => {
      given([orgRegistered, reserved('job-1', 6n * AGPU_WEI)]).when(release('job-1', reason)).then([released('job-1', 6n * AGPU_WEI, reason)]);
    });

    it('releases once: a second release (a redelivery, another reason) records nothing', () => {
      const past = [orgRegistered, reserved('job-1', 6n * AGPU_WEI), released('job-1', 6n * AGPU_WEI, 'contracted')];
      given(past).when(release('job-1', 'contracted')).then([]);
      given(past).when(release('job-1', 'failed')).then([]);
    });

    it('records nothing for a job that never reserved (submitted before reservations existed)', () => {
      given([orgRegistered]).when(release('job-old', 'cancelled')).then([]);
    });

    it('refuses an unknown org', () => {
      given([]).when(release('job-1', 'cancelled')).thenThrows('ORG_NOT_FOUND');
    });
  });

  describe('evolve', () => {
    it('folds reservations into the open set and their total, and counts releases', () => {
      const state = fold([orgRegistered, reserved('job-1', 6n * AGPU_WEI), reserved('job-2', 3n * AGPU_WEI), released('job-1', 6n * AGPU_WEI, 'contracted')]);
      expect(state).toMatchObject({ reservations: new Map([['job-2', 3n * AGPU_WEI]]), reservedWei: 3n * AGPU_WEI, releasesSeen: 1, abandoned: new Set() });
      expect(spendableWei(state, 10n * AGPU_WEI)).toBe(7n * AGPU_WEI);
      expect(spendableWei(state, AGPU_WEI)).toBe(0n);
    });

    it('remembers an abandoned reservation until it is reserved again', () => {
      const abandonedOnce = fold([orgRegistered, reserved('job-1', AGPU_WEI), released('job-1', AGPU_WEI, 'abandoned')]);
      expect(abandonedOnce).toMatchObject({ reservedWei: 0n, abandoned: new Set(['job-1']) });
      expect(evolveAccount(abandonedOnce, reserved('job-1', AGPU_WEI))).toMatchObject({ reservedWei: AGPU_WEI, abandoned: new Set() });
    });

    it('a second FundsReserved of the same job counts once', () => {
      expect(fold([orgRegistered, reserved('job-1', AGPU_WEI), reserved('job-1', AGPU_WEI)])).toMatchObject({ reservedWei: AGPU_WEI });
    });


    it('a registered org is active with nothing funded', () => {
      expect(fold([orgRegistered])).toEqual({
        status: 'active',
        orgId: ORG_ID,
        accountAddress: ACCOUNT_ADDRESS,
        fundedWei: 0n,
        fundingTxHashes: new Set(),
        reservations: new Map(),
        reservedWei: 0n,
        releasesSeen: 0,
        abandoned: new Set(),
      });
    });

    it('sums what was funded', () => {
      expect(fold([orgRegistered, funded(AGPU_WEI, TX_1), funded(2n * AGPU_WEI, TX_2)])).toMatchObject({ fundedWei: 3n * AGPU_WEI });
    });

    it('a funding event before the org is registered leaves it unknown', () => {
      expect(fold([funded(AGPU_WEI)])).toEqual({ status: 'none' });
    });
  });
});

import { accountDecider, evolveAccount, initialAccountState, type AccountEvent, validateFaucetAmount, type AccountCommand, type AccountState } from './account';
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

  describe('evolve', () => {
    it('a registered org is active with nothing funded', () => {
      expect(fold([orgRegistered])).toEqual({ status: 'active', orgId: ORG_ID, accountAddress: ACCOUNT_ADDRESS, fundedWei: 0n, fundingTxHashes: new Set() });
    });

    it('sums what was funded', () => {
      expect(fold([orgRegistered, funded(AGPU_WEI, TX_1), funded(2n * AGPU_WEI, TX_2)])).toMatchObject({ fundedWei: 3n * AGPU_WEI });
    });

    it('a funding event before the org is registered leaves it unknown', () => {
      expect(fold([funded(AGPU_WEI)])).toEqual({ status: 'none' });
    });
  });
});

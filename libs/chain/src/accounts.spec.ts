import { mnemonicToAccount } from 'viem/accounts';
import { CustodyKeys, custodialAccount, DEV_MNEMONIC } from './accounts';

const OTHER_MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

describe('CustodyKeys', () => {
  it('given a mnemonic, derives the same accounts as viem (m/44\'/60\'/0\'/0/index), and signs as they do', async () => {
    for (const mnemonic of [DEV_MNEMONIC, OTHER_MNEMONIC]) {
      const keys = new CustodyKeys(mnemonic);
      for (const index of [0, 1, 7, 1234, 2 ** 31 - 1]) {
        const expected = mnemonicToAccount(mnemonic, { addressIndex: index });
        expect(keys.account(index).address).toBe(expected.address);
        expect(custodialAccount(mnemonic, index).address).toBe(expected.address);
      }
      const message = 'custody';
      expect(await keys.account(3).signMessage({ message })).toBe(await mnemonicToAccount(mnemonic, { addressIndex: 3 }).signMessage({ message }));
    }
  });

  it('given the same index again, answers the account it derived; past its bound, forgets the least recently used and derives it again alike', () => {
    const keys = new CustodyKeys(DEV_MNEMONIC, 2);
    const a0 = keys.account(0);
    expect(keys.account(0)).toBe(a0);
    keys.account(1);
    keys.account(0); // 0 is now the most recently used
    keys.account(2); // forgets 1
    expect(keys.account(0)).toBe(a0);
    const again = keys.account(1);
    expect(again.address).toBe(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 1 }).address);
  });

  it('given a hardened or negative index, refuses it', () => {
    const keys = new CustodyKeys(DEV_MNEMONIC);
    expect(() => keys.account(-1)).toThrow(RangeError);
    expect(() => keys.account(2 ** 31)).toThrow(RangeError);
    expect(() => keys.account(1.5)).toThrow(RangeError);
  });
});

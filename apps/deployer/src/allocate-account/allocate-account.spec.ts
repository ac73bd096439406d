import { connect } from '@nats-io/transport-node';
import { mnemonicToAccount } from 'viem/accounts';
import { COMMANDS } from '@starminer/events';
import { countEvents, CUSTODY_MNEMONIC, serviceUnderTest } from '@starminer/service-testing';
import { AccountRow } from '../accounts/account-row.entity';
import { DeployerModule } from '../deployer.module';

const under = serviceUnderTest(DeployerModule, { chain: true });

const allocate = (orgId: string) => under.service.bus.send(COMMANDS.deployer.allocateAccount, { orgId });
/** The custodial HD account of the test mnemonic at `index`, derived here without the service's code. */
const custodial = (index: number) => mnemonicToAccount(CUSTODY_MNEMONIC, { addressIndex: index }).address;

describe('cmd.deployer.allocateAccount', () => {
  it('given a new org, when it is allocated twice, then the same slot both times, whose address is the custodial HD account of CUSTODY_MNEMONIC at that index', async () => {
    const first = await allocate('org-alloc-1');
    const again = await allocate('org-alloc-1');
    expect(again).toEqual(first);
    expect(first.custodyIndex).toBeGreaterThanOrEqual(0);
    expect(first.accountAddress).toBe(custodial(first.custodyIndex));
  });

  it('given two orgs, then two different slots and two different accounts', async () => {
    const a = await allocate('org-alloc-a');
    const b = await allocate('org-alloc-b');
    expect(a.custodyIndex).not.toBe(b.custodyIndex);
    expect(a.accountAddress).not.toBe(b.accountAddress);
    expect(b.accountAddress).toBe(custodial(b.custodyIndex));
  });

  it('given several calls for one org at once (a retried request on two replicas), then they all get the one slot', async () => {
    const replies = await Promise.all(Array.from({ length: 5 }, () => allocate('org-alloc-race')));
    expect(new Set(replies.map((r) => `${r.custodyIndex}:${r.accountAddress}`)).size).toBe(1);
  });

  it('allocates without writing to the log (OrgRegistered is the gateway\'s, with the slot it got)', async () => {
    const before = await countEvents(under.infra.log, 'trade.>');
    await allocate('org-alloc-quiet');
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['an org id that is not a subject token', { orgId: 'org a.b' }, 'orgId'],
    ['an unknown field', { orgId: 'org-x', colour: 'blue' }, 'colour'],
  ])('given %s sent raw, then COMMAND_INVALID names it and no slot is taken', async (_what, wire, field) => {
    const slotsBefore = await under.service.rt.db.getRepository(AccountRow).count();
    const nc = await connect({ servers: under.infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.deployer.allocateAccount.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(JSON.stringify(reply.err.details.violations)).toContain(field);
    } finally {
      await nc.close();
    }
    expect(await under.service.rt.db.getRepository(AccountRow).count()).toBe(slotsBefore);
  });
});

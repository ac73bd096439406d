import { COMMANDS, decodeEvent, EXAMPLE_EVENT_DATA, toJson } from '@starminer/events';
import { eventually, getJson, publishRaw, rawEvent, serviceUnderTest } from '@starminer/service-testing';
import { SETTLEMENT_EXECUTOR } from '../execute-settlement/settlement-executor';
import { REDUNDANCY_VERDICTS_DURABLE } from '../redundancy/redundancy-verdicts.consumer';
import { SettlementModule } from '../settlement.module';
import { contractOnLog, eventsOf, openContract, resultOf } from '../testing/settlement-fixture';
import { ContractRow } from './contract-row.entity';
import { applyToContracts, CONTRACTS_PROJECTION, ContractsProjection } from './contracts.projection';
import { LedgerEntry } from './ledger-entry.entity';

const under = serviceUnderTest(SettlementModule, { chain: true });

const rows = (jobId: string) => under.service.rt.db.getRepository(ContractRow).findOneBy({ jobId });
const entries = (jobId: string) => under.service.rt.db.getRepository(LedgerEntry).find({ where: { jobId }, order: { seq: 'ASC' } });
const projected = (seq: number) => under.service.app.get(ContractsProjection).waitUntil(seq);

describe('the contracts projection and its ledger', () => {
  it('given a contract opened, released on chain, then the ledger holds escrow-locked for the requester and released to the node key, with the transactions', async () => {
    const c = await openContract(under.infra, { jobId: 'job-l1' });
    await projected(c.openedSeq);
    expect(await rows('job-l1')).toMatchObject({
      status: 'open',
      requesterAddress: c.requester.address.toLowerCase(),
      nodeAddress: c.node.address.toLowerCase(),
      escrowWei: c.escrowWei,
      deadlineUnixSec: String(c.deadlineUnixSec),
      outcome: null,
    });

    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c));
    await eventually(async () => (await rows('job-l1'))?.status === 'released', 20_000);
    const released = (await eventsOf(under.infra, 'trade.contract.job-l1')).find((e) => e.type === 'ContractReleased')!;
    expect(await rows('job-l1')).toMatchObject({ status: 'released', outcome: 'release', decidedAt: expect.any(Date) });
    expect((await entries('job-l1')).map((e) => [e.kind, e.account, e.amountWei, e.txHash])).toEqual([
      ['escrow-locked', c.requester.address.toLowerCase(), c.escrowWei, c.opened.txHash],
      ['released', c.node.address.toLowerCase(), c.escrowWei, released.type === 'ContractReleased' ? released.data.txHash : 'missing'],
    ]);
  }, 30_000);

  it('given a wrong result, then the ledger holds escrow-locked and refunded, both the requester', async () => {
    const c = await openContract(under.infra, { jobId: 'job-l2' });
    await under.service.bus.send(COMMANDS.settlement.submitResult, await resultOf(under.infra, c, { output: 'wrong' }));
    await eventually(async () => (await rows('job-l2'))?.status === 'refunded', 20_000);
    expect(await rows('job-l2')).toMatchObject({ status: 'refunded', outcome: 'refund' });
    expect((await entries('job-l2')).map((e) => [e.kind, e.account, e.amountWei])).toEqual([
      ['escrow-locked', c.requester.address.toLowerCase(), c.escrowWei],
      ['refunded', c.requester.address.toLowerCase(), c.escrowWei],
    ]);
  }, 30_000);

  it('given the same events applied again (a redelivery), then the rows and the ledger do not change', async () => {
    const before = { row: await rows('job-l1'), entries: await entries('job-l1') };
    const { events } = await under.infra.log.readSubject('trade.contract.job-l1', { decode: decodeEvent });
    await under.service.rt.db.transaction(async (em) => {
      for (const e of events) await applyToContracts(em, e);
    });
    expect(await rows('job-l1')).toEqual(before.row);
    expect(await entries('job-l1')).toEqual(before.entries);
  });

  it('given a ContractOpened the catalogue refuses, written straight onto the log, then it is parked, readiness turns red (the ledger is critical), the operator lists it, and other contracts are still projected', async () => {
    expect((await getJson(`${under.service.url}/health/ready`)).status).toBe(200);
    const bad = rawEvent('ContractOpened', 'job-broken', { ...JSON.parse(toJson(EXAMPLE_EVENT_DATA.ContractOpened)), jobId: 'job-broken', escrowWei: '-5' });
    const seq = await publishRaw(under.infra.log, 'trade.contract.job-broken', bad);

    await eventually(async () => (await getJson(`${under.service.url}/health/ready`)).status === 503);
    const ready = await getJson(`${under.service.url}/health/ready`);
    expect(ready.body.error.readers[CONTRACTS_PROJECTION]).toMatchObject({ parked: 1, critical: true, problems: ['1 parked'] });
    // the process serves; a restart would not help
    expect((await getJson(`${under.service.url}/health/live`)).status).toBe(200);
    expect(await rows('job-broken')).toBeNull();

    // every reader of contract events parks it: the ledger (critical), the executor and the redundancy verdicts (not)
    await eventually(async () => (await under.service.bus.send(COMMANDS.settlement.listParked, {})).parked.length === 3);
    const listed = await under.service.bus.send(COMMANDS.settlement.listParked, {});
    expect(listed.parked).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reader: CONTRACTS_PROJECTION, seq, type: 'ContractOpened', key: 'job-broken', blockedBy: null }),
        expect.objectContaining({ reader: SETTLEMENT_EXECUTOR, seq, type: 'ContractOpened', key: 'job-broken' }),
        expect.objectContaining({ reader: REDUNDANCY_VERDICTS_DURABLE, seq, type: 'ContractOpened', key: 'job-broken' }),
      ]),
    );
    expect(listed.parked.find((p) => p.reader === CONTRACTS_PROJECTION)?.error).toMatch(/escrowWei/);
    const metrics = await getJson(`${under.service.url}/metrics`);
    expect(metrics.body).toMatch(new RegExp(`starminer_parked_events\\{[^}]*reader="${CONTRACTS_PROJECTION}"[^}]*\\} 1`));

    // another job's contract is still projected
    const nextSeq = await contractOnLog(under.infra, 'job-l3', `0x${'6e'.repeat(20)}`);
    await projected(nextSeq);
    expect(await rows('job-l3')).toMatchObject({ status: 'open', nodeAddress: `0x${'6e'.repeat(20)}` });

    // a retry of an event that is still wrong keeps it parked, and readiness red
    const retried = await under.service.bus.send(COMMANDS.settlement.retryParked, { reader: CONTRACTS_PROJECTION, key: 'job-broken' });
    expect(retried).toMatchObject({ applied: 0, stillParked: [expect.objectContaining({ seq, attempts: expect.any(Number) })] });
    expect((await getJson(`${under.service.url}/health/ready`)).status).toBe(503);
  }, 30_000);
});

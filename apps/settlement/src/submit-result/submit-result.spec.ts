import { connect } from '@nats-io/transport-node';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { readComputeContract, signResult } from '@starminer/chain';
import { DomainError, draft, resultHashOf } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, LIMITS, type PayloadOf, type TradeEvent, type Workload } from '@starminer/events';
import { appendDrafts, countEvents, eventually, serviceUnderTest } from '@starminer/service-testing';
import { SettlementModule } from '../settlement.module';
import { balanceOf, eventsOf, openContract, resultOf, WORKLOAD } from '../testing/settlement-fixture';
import { VerificationPool } from '../verify-results/verification-pool';

const under = serviceUnderTest(SettlementModule, { chain: true });

const submit = (p: PayloadOf<typeof COMMANDS.settlement.submitResult>) => under.service.bus.send(COMMANDS.settlement.submitResult, p);
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
const typesOf = (events: TradeEvent[]) => events.map((e) => e.type);

/** Waits for the executor to record the chain's under.service of `jobId`, and returns the contract's events. */
async function settled(jobId: string, type: 'ContractReleased' | 'ContractRefunded'): Promise<TradeEvent[]> {
  await eventually(async () => (await eventsOf(under.infra, `trade.contract.${jobId}`)).some((e) => e.type === type), 20_000);
  return eventsOf(under.infra, `trade.contract.${jobId}`);
}

describe('cmd.settlement.submitResult', () => {
  it('given a correct result signed by the node key, then ResultSubmitted and a release are decided, and the executor pays the node the escrow on chain', async () => {
    const c = await openContract(under.infra, { jobId: 'job-r1' });
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);

    await expect(submit(await resultOf(under.infra, c))).resolves.toEqual({ status: 'settling', outcome: 'release' });

    const events = await settled('job-r1', 'ContractReleased');
    expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'SettlementDecided', 'ContractReleased']);
    expect(events[2].data).toMatchObject({ outcome: 'release', reason: 'result and proof verified' });
    const released = events[3];
    expect(released.actor).toBe('service:settlement');
    expect(released.causationId).toBe(events[2].id);
    expect(released.data).toEqual({ jobId: 'job-r1', nodeAddress: c.node.address, amountWei: c.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.stringMatching(/^[0-9]+$/) });
    expect(await balanceOf(under.infra, c.node.address)).toBe(c.escrowWei);
    expect((await readComputeContract(under.infra.chain!.clients.publicClient, { addresses: under.infra.chain!.addresses, jobId: 'job-r1' })).status).toBe('released');

    // the same submission again: the contract is settling, so it is final
    expect(await refusal(submit(await resultOf(under.infra, c)))).toMatchObject({ code: 'RESULT_ALREADY_FINAL', kind: 'conflict' });
  });

  it('given a wrong result signed by the node key, then ResultRejected and a refund are decided, and the executor disputes and refunds the requester on chain', async () => {
    const c = await openContract(under.infra, { jobId: 'job-r2' });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(0n);

    await expect(submit(await resultOf(under.infra, c, { output: 'not the hash chain' }))).resolves.toEqual({ status: 'settling', outcome: 'refund' });

    const events = await settled('job-r2', 'ContractRefunded');
    expect(typesOf(events)).toEqual(['ContractOpened', 'ResultSubmitted', 'ResultRejected', 'SettlementDecided', 'ContractRefunded']);
    expect(events[2].data).toMatchObject({ code: 'RESULT_WRONG' });
    expect(events[3].data).toMatchObject({ outcome: 'refund', reason: 'result rejected: recomputed result differs' });
    expect(events[4].data).toEqual({ jobId: 'job-r2', requesterAddress: c.requester.address, amountWei: c.escrowWei, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), blockNumber: expect.stringMatching(/^[0-9]+$/) });
    expect(await balanceOf(under.infra, c.requester.address)).toBe(c.escrowWei);
    expect(await balanceOf(under.infra, c.node.address)).toBe(0n);
  });

  it('given a result signed by another key than the node key, then BAD_RESULT_SIGNATURE and nothing appended', async () => {
    const c = await openContract(under.infra, { jobId: 'job-r3' });
    const before = await countEvents(under.infra.log, 'trade.>');
    const err = await refusal(submit(await resultOf(under.infra, c, { signer: privateKeyToAccount(generatePrivateKey()) })));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'BAD_RESULT_SIGNATURE', kind: 'forbidden' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it("given a result whose request key is not the contract's node key, then BAD_RESULT_SIGNATURE from the contract, and nothing appended", async () => {
    const c = await openContract(under.infra, { jobId: 'job-r4' });
    const stranger = privateKeyToAccount(generatePrivateKey());
    const before = await countEvents(under.infra.log, 'trade.>');
    // signed consistently by the stranger, who also signed the request: the contract names another node
    const p = { ...(await resultOf(under.infra, c, { signer: stranger })), nodeAddress: stranger.address };
    expect(await refusal(submit(p))).toMatchObject({ code: 'BAD_RESULT_SIGNATURE', message: 'the result is not signed by the assigned node key' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
  });

  it('given a heavy job\'s result the contract refuses anyway (signed by a key the contract does not name), then the refusal comes before any recompute', async () => {
    const heavy: Workload = { kind: 'hash-chain', seed: 'refused-before-recompute', iterations: LIMITS.hashChainIterationsMax };
    const c = await openContract(under.infra, { jobId: 'job-r8', workload: heavy });
    const stranger = privateKeyToAccount(generatePrivateKey());
    const output = 'whatever';
    const [resultHash, proofHash] = [resultHashOf(output), resultHashOf('no proof')];
    const signature = await signResult(stranger, { addresses: { escrow: under.infra.chain!.addresses.escrow }, chainId: under.infra.chain!.anvil.chainId, jobId: c.jobId, resultHash, proofHash });
    const p = { jobId: c.jobId, nodeId: c.nodeId, nodeAddress: stranger.address, output, resultHash, proofHash, signature };
    expect(await refusal(submit(p))).toMatchObject({ code: 'BAD_RESULT_SIGNATURE', message: 'the result is not signed by the assigned node key' });
    expect(under.service.app.get(VerificationPool).stats().heavy).toMatchObject({ active: 0, queued: 0 });
    expect(typesOf(await eventsOf(under.infra, 'trade.contract.job-r8'))).toEqual(['ContractOpened']);
  });

  it('given a job that was never submitted, then JOB_NOT_FOUND; given a job without a contract, then CONTRACT_NOT_OPEN; nothing appended', async () => {
    const c = await openContract(under.infra, { jobId: 'job-r5' });
    const before = await countEvents(under.infra.log, 'trade.>');
    expect(await refusal(submit({ ...(await resultOf(under.infra, c)), jobId: 'job-r-none' }))).toMatchObject({ code: 'JOB_NOT_FOUND', kind: 'not-found' });
    await appendDrafts(under.infra.log, 'job', 'job-r6', [draft('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-r6', workload: WORKLOAD })]);
    const r6 = { ...c, jobId: 'job-r6' };
    const withoutContract = await countEvents(under.infra.log, 'trade.>');
    expect(withoutContract).toBe(before + 1);
    expect(await refusal(submit(await resultOf(under.infra, r6)))).toMatchObject({ code: 'CONTRACT_NOT_OPEN', kind: 'conflict' });
    expect(await countEvents(under.infra.log, 'trade.>')).toBe(withoutContract);
  });

  describe('a payload its schema refuses, sent raw as any NATS client could', () => {
    let wire: Record<string, unknown>;
    beforeAll(async () => {
      const c = await openContract(under.infra, { jobId: 'job-r7' });
      wire = { ...(await resultOf(under.infra, c)) };
    });

    it.each([
      ['a NUL in the output', { output: 'ab\u0000cd' }, 'output'],
      ['an output over its limit', { output: 'x'.repeat(LIMITS.resultOutputLengthMax + 1) }, 'output'],
      ['a 64-character signature', { signature: `0x${'ab'.repeat(32)}` }, 'signature'],
      ['a result hash that is not 32 bytes', { resultHash: '0x1234' }, 'resultHash'],
      ['an unknown field', { bonus: '1' }, '(root)'],
    ])('given %s, then COMMAND_INVALID names the field, and nothing is appended', async (_what, over, field) => {
      const before = await countEvents(under.infra.log, 'trade.>');
      const nc = await connect({ servers: under.infra.nats.url });
      try {
        const reply = JSON.parse((await nc.request(COMMANDS.settlement.submitResult.subject, JSON.stringify({ ...wire, ...over }), { timeout: 5_000 })).string());
        expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
        const violations = reply.err.details.violations as { field: string; message: string }[];
        expect(violations.map((v) => v.field)).toContain(field);
        if (field === '(root)') expect(violations[0].message).toMatch(/bonus/);
      } finally {
        await nc.close();
      }
      expect(await countEvents(under.infra.log, 'trade.>')).toBe(before);
    });
  });
});

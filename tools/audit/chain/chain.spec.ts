import { keccak256, stringToBytes } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { DEV_MNEMONIC, disputeComputeContract, mintAgpu, refundComputeContract, tokenAbi } from '@starminer/chain';
import { ROLE_INDEX } from '@starminer/service-testing';
import { jobRequest } from '../../../apps/gateway/test/market-harness';
import { startAuditedMarket, type AuditedMarket } from '../testing/audited-market';
import { audit } from '../testing/run-audit';

const AGPU = 10n ** 18n;

/** `audit chain --json` against the market. */
const auditChain = (env: Record<string, string>) => audit(env, ['chain']);

describe('audit chain: every escrow and every token movement of the contracts against the log', () => {
  let m: AuditedMarket;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: 4, deadlineRefunded: 1, slashed: 1 });
  }, 300_000);

  afterAll(async () => {
    await m?.stop();
  });

  it('agrees with a market that traded: every job, every transfer explained, no escrow left open', async () => {
    const { code, summary, stderr } = await auditChain(m.auditEnv);
    expect({ code, firstDifference: summary.firstDifference, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, firstDifference: undefined, stderr: '' });
    // 6 opens and 6 settlements of the escrow; the cheating node's stake and its slash
    expect(summary).toMatchObject({ audit: 'chain', ok: true, differences: 0, jobs: 6, jobsChecked: 6, jobsInFlight: 0, escrowOpened: 6, escrowSettled: 6, slashes: 1 });
    expect(summary).toMatchObject({ openEscrowsLog: 0, openEscrowsLogWei: '0', openEscrowsChain: 0, openEscrowsChainWei: '0', escrowBalanceWei: '0' });
    expect(summary.transfers).toBe(14);
    expect(summary.transfersExplained).toBe(14);
    expect(BigInt(summary.stakingBalanceWei as string)).toBe(BigInt(summary.stakedWei as string) - BigInt(summary.slashedWei as string));
  }, 120_000);

  it('says the chain could not be read (exit 3) rather than deciding anything when the RPC is down', async () => {
    const { code, summary, stderr } = await auditChain({ ...m.auditEnv, RPC_URL: 'http://127.0.0.1:9' });
    expect({ code, ok: summary.ok }).toEqual({ code: 3, ok: false });
    expect(stderr).toContain('audit chain: the chain at http://127.0.0.1:9 cannot be reached');
  }, 60_000);

  it('names the job whose open escrow was refunded on the chain outside the platform, then the tokens moved into the escrow with no event', async () => {
    // an escrow the platform holds open: a job matched to a node that went quiet, with an hour to its deadline
    const quiet = await m.market.startAgent({ name: 'chain-quiet', gpuModel: 'T4', vramGiB: 16, region: 'sa-east' });
    await waitOnline(m, quiet.nodeId);
    await quiet.stop();
    const { jobId } = await m.requester.submitJob({ job: jobRequest({ requirements: { gpuModels: ['T4'], minVramGiB: 0 }, expectedRuntimeSec: 1, deadlineSec: 3600 }) as never });
    expect(await statusOnceContracted(m, jobId)).toBe('contracted');

    const open = await auditChain(m.auditEnv);
    expect({ code: open.code, firstDifference: open.summary.firstDifference }).toEqual({ code: 0, firstDifference: undefined });
    expect(open.summary).toMatchObject({ jobs: 7, openEscrowsLog: 1, openEscrowsChain: 1 });
    expect(open.summary.openEscrowsLogWei).toBe(open.summary.openEscrowsChainWei);
    expect(open.summary.escrowBalanceWei).toBe(open.summary.openEscrowsChainWei);

    // the settlement key, used by hand: the escrow goes back to the requester and the log never hears of it
    const { publicClient, wallet } = m.market.chain;
    const settlement = wallet(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: ROLE_INDEX.settlement }));
    await disputeComputeContract(settlement, publicClient, { addresses: m.market.addresses, jobId, reasonHash: keccak256(stringToBytes('by hand')) });
    await refundComputeContract(settlement, publicClient, { addresses: m.market.addresses, jobId });

    const moved = await auditChain(m.auditEnv);
    expect(moved.code).toBe(1);
    expect(String(moved.summary.firstDifference)).toMatch(new RegExp(`^job ${jobId}: refunded on chain, but the log holds it open \\(opened in tx 0x[0-9a-f]{64}\\)`));
    expect(moved.summary).toMatchObject({ ok: false, openEscrowsLog: 1, openEscrowsChain: 0, escrowBalanceWei: '0', transfersExplained: moved.summary.transfers });
    expect(moved.differences.map((d) => d.subject)).toEqual([`job ${jobId}`, `escrow ${m.market.addresses.escrow.toLowerCase()}`]);

    // tokens sent straight to the escrow: no open explains them
    const minter = wallet(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: ROLE_INDEX.minter }));
    await mintAgpu(minter, publicClient, { token: m.market.addresses.token, to: minter.account.address, amountWei: AGPU });
    const txHash = await minter.writeContract({ address: m.market.addresses.token, abi: tokenAbi(), functionName: 'transfer', args: [m.market.addresses.escrow, AGPU] });
    expect((await publicClient.waitForTransactionReceipt({ hash: txHash })).status).toBe('success');

    const sent = await auditChain(m.auditEnv);
    expect(sent.code).toBe(1);
    expect(String(sent.summary.firstDifference)).toBe(
      `transfer ${txHash}: ${AGPU} wei moved from ${minter.account.address.toLowerCase()} to the escrow ${m.market.addresses.escrow.toLowerCase()} in block ${(await publicClient.getTransactionReceipt({ hash: txHash })).blockNumber} with no event of the contract to explain it: tokens moved outside the contract's rules`,
    );
    expect(sent.summary).toMatchObject({ escrowBalanceWei: AGPU.toString(), transfersExplained: (sent.summary.transfers as number) - 1 });
    expect(sent.differences.map((d) => d.subject)).toEqual([`transfer ${txHash}`, `job ${jobId}`, `escrow ${m.market.addresses.escrow.toLowerCase()}`, `escrow ${m.market.addresses.escrow.toLowerCase()}`]);
  }, 240_000);
});

/** Polls the job (no update stream: one left open on a job that never ends holds the gateway's close) until its contract is open or it ended. */
describe('audit chain: usage', () => {
  it('asks for the chain (exit 2) when no RPC is given, before reading anything', async () => {
    const { code, stderr } = await auditChain({ MARKET_ADDRESSES: JSON.stringify({ token: `0x${'70'.repeat(20)}`, escrow: `0x${'e5'.repeat(20)}` }) });
    expect(code).toBe(2);
    expect(stderr).toContain('audit chain: this command reads the chain: give --rpc (or RPC_URL)');
  });
});

async function statusOnceContracted(m: AuditedMarket, jobId: string): Promise<string> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const { status } = await m.requester.getJob({ jobId });
    if (status !== 'queued' && status !== 'matched') return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${jobId} was never contracted`);
}

async function waitOnline(m: AuditedMarket, nodeId: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if ((await m.requester.listNodes()).nodes.some((n) => n.nodeId === nodeId && n.online)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${nodeId} never came online`);
}

/**
 * Gas of the market's on-chain operations, on a fresh anvil (`npm run bench:gas`).
 * Steady state: each figure is measured after a warm-up of the same operation, so first-time
 * storage costs (a requester's first permit nonce, a provider's first balance) are not counted.
 * Ends with one JSON line of the figures.
 */
import { keccak256, stringToBytes, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  buildAnchorTree,
  createChainClients,
  custodialAccount,
  deployMarket,
  devAccount,
  drawVault,
  jobTemplateHash,
  mintAgpu,
  openComputeContract,
  openComputeContractsBatch,
  openVault,
  closeVault,
  postAnchor,
  setVaultPaused,
  updateVaultTemplate,
  refundComputeContract,
  releaseComputeContract,
  releaseComputeContractsBatch,
  signResult,
  stakeAgpu,
  startAnvil,
  topUpComputeContract,
  type BatchJob,
  type ReleaseBatchItem,
} from '@starminer/chain';

const AGPU = 10n ** 18n;
const BATCH_SIZES = [10, 50] as const;
/** Batched release (issue 13), and open + release both batched, at these sizes (64 = ComputeEscrow.MAX_BATCH). */
const RELEASE_BATCH_SIZES = [1, 16, 64] as const;
const CUSTODY = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

async function main(): Promise<void> {
  const anvil = await startAnvil();
  try {
    const { publicClient, wallet } = createChainClients(anvil.rpcUrl, anvil.chainId);
    const [admin, deployer, settlement, minter, provider] = [0, 1, 2, 3, 4].map(devAccount);
    const addresses = await deployMarket(wallet(admin!), publicClient, { admin: admin!.address, deployer: deployer!.address, settlement: settlement!.address, minter: minter!.address });
    const requesters = [0, 1, 2, 3].map((i) => custodialAccount(CUSTODY, i));
    for (const r of requesters) await mintAgpu(wallet(minter!), publicClient, { token: addresses.token, to: r.address, amountWei: 1_000_000n * AGPU });
    await mintAgpu(wallet(minter!), publicClient, { token: addresses.token, to: provider!.address, amountWei: 1_000n * AGPU });
    const deployerW = wallet(deployer!);
    const settlementW = wallet(settlement!);
    const gasOf = async (hash: Hex | null): Promise<bigint> => (await publicClient.getTransactionReceipt({ hash: hash! })).gasUsed;
    const now = Number((await publicClient.getBlock()).timestamp);
    const terms = keccak256(stringToBytes('terms'));
    let n = 0;
    const job = (requester = requesters[0]!, deadlineSec = now + 86_400): BatchJob => ({ jobId: `gas-${++n}`, requester, provider: provider!.address, costWei: AGPU, expectedRuntimeSec: 600, deadlineSec, termsHash: terms });
    const open = async (j: BatchJob) => gasOf((await openComputeContract(deployerW, publicClient, { addresses, ...j })).txHash);
    const release = async (j: BatchJob) => {
      const resultHash = keccak256(stringToBytes(`${j.jobId}/result`));
      const proofHash = keccak256(stringToBytes(`${j.jobId}/proof`));
      const providerSignature = await signResult(provider!, { addresses, chainId: anvil.chainId, jobId: j.jobId, resultHash, proofHash });
      return gasOf((await releaseComputeContract(settlementW, publicClient, { addresses, jobId: j.jobId, resultHash, proofHash, providerSignature })).txHash);
    };

    // warm-up: first permit nonce, first provider payout
    const w = job();
    await open(w);
    await release(w);

    const j1 = job();
    const openGas = await open(j1);
    const releaseGas = await release(j1);

    const batchPerJob: Record<string, number> = {};
    for (const size of BATCH_SIZES) {
      const jobs = Array.from({ length: size }, (_, i) => job(requesters[i % requesters.length]));
      const r = await openComputeContractsBatch(deployerW, publicClient, { addresses, jobs });
      batchPerJob[size] = Number((await gasOf(r.txHash)) / BigInt(size));
    }

    // batched release (issue 13): each size opens its jobs in one openBatch, then releases them in
    // one releaseBatch; one job stays open meanwhile (as in a market, no release empties the
    // escrow's balance, unlike the single release row above)
    const keepOpen = job();
    await open(keepOpen);
    const itemOf = async (j: BatchJob, signer: LocalAccount = provider!): Promise<ReleaseBatchItem> => {
      const resultHash = keccak256(stringToBytes(`${j.jobId}/result`));
      const proofHash = keccak256(stringToBytes(`${j.jobId}/proof`));
      const providerSignature = await signResult(signer, { addresses, chainId: anvil.chainId, jobId: j.jobId, resultHash, proofHash });
      return { jobId: j.jobId, terms: { requester: j.requester.address, provider: j.provider, costWei: j.costWei }, resultHash, proofHash, providerSignature };
    };
    const openAndReleaseBatch = async (jobs: BatchJob[], signers?: LocalAccount[]) => {
      const opened = await openComputeContractsBatch(deployerW, publicClient, { addresses, jobs });
      const items = await Promise.all(jobs.map((j, i) => itemOf(j, signers?.[i])));
      const released = await releaseComputeContractsBatch(settlementW, publicClient, { addresses, items });
      if (released.jobs.some((r) => r.outcome !== 'released')) throw new Error('bench: a batched release skipped a job');
      return { openPerJob: Number((await gasOf(opened.txHash)) / BigInt(jobs.length)), releasePerJob: Number((await gasOf(released.txHash)) / BigInt(jobs.length)) };
    };
    await openAndReleaseBatch([job()]); // warm-up of the batch path
    const releaseBatchPerJob: Record<string, number> = {};
    const batchOpenAndReleasePerJob: Record<string, number> = {};
    for (const size of RELEASE_BATCH_SIZES) {
      const r = await openAndReleaseBatch(Array.from({ length: size }, (_, i) => job(requesters[i % requesters.length])));
      releaseBatchPerJob[size] = r.releasePerJob;
      batchOpenAndReleasePerJob[size] = r.openPerJob + r.releasePerJob;
    }
    // the same largest batch with a provider per job (each already holding AGPU): a cold balance slot per payout
    const providers = Array.from({ length: RELEASE_BATCH_SIZES[RELEASE_BATCH_SIZES.length - 1] }, (_, i) => privateKeyToAccount(keccak256(stringToBytes(`gas bench provider ${i}`))));
    for (const p of providers) await mintAgpu(wallet(minter!), publicClient, { token: addresses.token, to: p.address, amountWei: 1n });
    const distinct = await openAndReleaseBatch(
      providers.map((p, i) => ({ ...job(requesters[i % requesters.length]), provider: p.address })),
      providers,
    );

    // refund: a job whose deadline passes
    const short = job(requesters[1], Number((await publicClient.getBlock()).timestamp) + 5);
    await open(short);
    await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'evm_increaseTime', params: [10] }) });
    await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'evm_mine', params: [] }) });
    const refundGas = await gasOf((await refundComputeContract(settlementW, publicClient, { addresses, jobId: short.jobId })).txHash);

    // top-up (relayed permit + pull): a job's first top-up writes its extension slot and a new
    // top-up id (two zero-to-nonzero slots); a later top-up of the same job only the new id
    const toppedUp = job();
    await open(toppedUp);
    const topUp = async (j: BatchJob, topUpId: string) =>
      gasOf((await topUpComputeContract(deployerW, publicClient, { addresses, jobId: j.jobId, topUpId, requester: j.requester, extraCostWei: AGPU, extraRuntimeSec: 3_600 })).txHash);
    const firstTopUpGas = await topUp(toppedUp, 'gas-topup-1');
    const nextTopUpGas = await topUp(toppedUp, 'gas-topup-2');
    // compared with a job never topped up, released at the same point: here other escrows stay
    // open, so neither release empties the escrow's token balance (the release row above does,
    // and gets the 4 800 gas refund of a cleared slot)
    const plain = job();
    await open(plain);
    const releasePlainGas = await release(plain);
    const releaseToppedUpGas = await release(toppedUp);

    // stake (relayed permit), second stake of the same provider in the same pool
    await stakeAgpu(deployerW, publicClient, { addresses, poolId: 'h100-eu', staker: provider!, amountWei: AGPU });
    const stakeGas = await gasOf((await stakeAgpu(deployerW, publicClient, { addresses, poolId: 'h100-eu', staker: provider!, amountWei: AGPU })).txHash);

    // vault draw (opens a compute contract paid by the vault)
    const template = { specHash: keccak256(stringToBytes('template')), budgetWei: 2n * AGPU, expectedRuntimeSec: 600 };
    await openVault(deployerW, publicClient, { addresses, vaultId: 'v', owner: requesters[2]!, capPerPeriodWei: 1_000n * AGPU, periodSec: 86_400, templateHash: jobTemplateHash(template), depositWei: 100n * AGPU });
    const draw = async () => {
      const j = job(requesters[2]);
      return gasOf((await drawVault(deployerW, publicClient, { addresses, vaultId: 'v', template, jobId: j.jobId, requester: requesters[2]!.address, provider: provider!.address, costWei: AGPU, deadlineSec: j.deadlineSec, termsHash: terms })).txHash);
    };
    await draw();
    const drawGas = await draw();
    // the owner's edits, relayed with its signature; one of each: no first-time slot to warm (the nonce shares the balance's slot)
    const vaultOwner = { addresses, vaultId: 'v', owner: requesters[2]! };
    const updateTemplateGas = await gasOf((await updateVaultTemplate(deployerW, publicClient, { ...vaultOwner, templateHash: jobTemplateHash({ ...template, budgetWei: 3n * AGPU }) })).txHash);
    const pauseGas = await gasOf((await setVaultPaused(deployerW, publicClient, { ...vaultOwner, paused: true })).txHash);
    const closeGas = await gasOf((await closeVault(deployerW, publicClient, vaultOwner)).txHash);

    // anchor of 1000 log events (the size of the range does not change the gas)
    const leaves = (from: number) => Array.from({ length: 1_000 }, (_, i) => ({ seq: BigInt(from + i), eventHash: keccak256(stringToBytes(`e${from + i}`)) }));
    await postAnchor(deployerW, publicClient, { addresses, fromSeq: 1n, toSeq: 1_000n, root: buildAnchorTree(leaves(1)).root });
    const anchorGas = await gasOf((await postAnchor(deployerW, publicClient, { addresses, fromSeq: 1_001n, toSeq: 2_000n, root: buildAnchorTree(leaves(1_001)).root })).txHash);

    const figures = {
      openGas: Number(openGas),
      batchOpenPerJobGas: batchPerJob,
      releaseGas: Number(releaseGas),
      openPlusReleaseGas: Number(openGas + releaseGas),
      batchOpenPlusReleaseGas: Object.fromEntries(Object.entries(batchPerJob).map(([k, v]) => [k, v + Number(releaseGas)])),
      releaseBatchPerJobGas: releaseBatchPerJob,
      releaseBatchDistinctProvidersPerJobGas: distinct.releasePerJob,
      batchOpenPlusBatchReleasePerJobGas: batchOpenAndReleasePerJob,
      batchOpenPlusBatchReleaseDistinctProvidersPerJobGas: distinct.openPerJob + distinct.releasePerJob,
      refundGas: Number(refundGas),
      topUpFirstGas: Number(firstTopUpGas),
      topUpNextGas: Number(nextTopUpGas),
      releaseToppedUpGas: Number(releaseToppedUpGas),
      releaseNotEmptyingGas: Number(releasePlainGas),
      stakeGas: Number(stakeGas),
      vaultDrawGas: Number(drawGas),
      vaultUpdateTemplateGas: Number(updateTemplateGas),
      vaultPauseGas: Number(pauseGas),
      vaultCloseGas: Number(closeGas),
      anchorGas: Number(anchorGas),
    };
    console.log(`open (openWithPermit, 1 job/tx)      ${figures.openGas}`);
    for (const size of BATCH_SIZES) console.log(`batch open, ${size} jobs/tx, per job     ${batchPerJob[size]}`);
    console.log(`release (EIP-712 provider signature) ${figures.releaseGas}`);
    console.log(`open + release                       ${figures.openPlusReleaseGas}`);
    for (const size of BATCH_SIZES) console.log(`batch open (${size}) + release per job    ${figures.batchOpenPlusReleaseGas[size]}`);
    for (const size of RELEASE_BATCH_SIZES) console.log(`batch release, ${size} jobs/tx, per job   ${releaseBatchPerJob[size]}`);
    console.log(`batch release, ${providers.length} jobs/tx, a provider each, per job ${distinct.releasePerJob}`);
    for (const size of RELEASE_BATCH_SIZES) console.log(`batch open + batch release (${size}), per job ${batchOpenAndReleasePerJob[size]}`);
    console.log(`batch open + batch release (${providers.length}, a provider each), per job ${figures.batchOpenPlusBatchReleaseDistinctProvidersPerJobGas}`);
    console.log(`refund                               ${figures.refundGas}`);
    console.log(`top-up, a job's first (topUp, permit) ${figures.topUpFirstGas}`);
    console.log(`top-up, a later one of the same job  ${figures.topUpNextGas}`);
    console.log(`release, escrow not emptied          ${figures.releaseNotEmptyingGas}`);
    console.log(`release of a topped-up job (same)    ${figures.releaseToppedUpGas}`);
    console.log(`stake (stakeWithPermit)              ${figures.stakeGas}`);
    console.log(`vault draw (opens the CSC)           ${figures.vaultDrawGas}`);
    console.log(`vault template update (signed)       ${figures.vaultUpdateTemplateGas}`);
    console.log(`vault pause (signed)                 ${figures.vaultPauseGas}`);
    console.log(`vault close (remainder to the owner) ${figures.vaultCloseGas}`);
    console.log(`anchor (root of 1000 events)         ${figures.anchorGas}`);
    console.log(JSON.stringify(figures));
  } finally {
    await anvil.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import { connect } from '@nats-io/transport-node';
import type { Address } from 'viem';
import { agpuBalance, faucetMintRef, mintAgpuOnce, readMintRef, tokenAbi } from '@starminer/chain';
import { DomainError, mintDecider } from '@starminer/domain';
import { COMMANDS, LIMITS, type PayloadOf } from '@starminer/events';
import { appendDrafts, countEvents, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';

const AGPU = 10n ** 18n;
const ORG = 'org-mint-1';
let infra: TestInfra;
let deployer: ServiceUnderTest;
let account: Address;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  deployer = await startService(DeployerModule, infra);
  // as the gateway does: the slot first, then OrgRegistered with it
  const slot = await deployer.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  account = slot.accountAddress as Address;
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: 'Mint Org', accountAddress: account, custodyIndex: slot.custodyIndex } }]);
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

type MintPayload = PayloadOf<typeof COMMANDS.deployer.mint>;
const mint = (payload: MintPayload) => deployer.bus.send(COMMANDS.deployer.mint, payload);
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
const balanceOf = (a: Address) => agpuBalance(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, account: a });
const totalSupply = () => infra.chain!.clients.publicClient.readContract({ address: infra.chain!.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });

describe('cmd.deployer.mint (the dev faucet)', () => {
  it("given a registered org, when it mints, then its balance moves by the amount on chain and AccountFunded is on the org's log", async () => {
    const before = await balanceOf(account);
    const reply = await mint({ orgId: ORG, amountWei: 250n * AGPU, requestId: 'faucet-1' });
    expect(await balanceOf(account)).toBe(before + 250n * AGPU);
    expect(reply.balanceWei).toBe(before + 250n * AGPU);
    const { events } = await infra.log.readSubject(`trade.account.${ORG}`);
    expect(events.map((e) => e.event.type)).toEqual(['OrgRegistered', 'MintRequested', 'AccountFunded']);
    const mintRef = faucetMintRef(ORG, 'faucet-1');
    expect(events[1].event).toMatchObject({ causationId: 'faucet-1', actor: 'service:deployer', data: { orgId: ORG, accountAddress: account, amountWei: 250n * AGPU, mintRef } });
    expect(events[2].event).toMatchObject({ causationId: 'faucet-1', actor: 'service:deployer', data: { orgId: ORG, accountAddress: account, amountWei: 250n * AGPU, txHash: reply.txHash, mintRef } });
    // minted once, under the request's reference
    expect(await readMintRef(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, mintRef })).toMatchObject({ minted: true, txHash: reply.txHash, amountWei: 250n * AGPU });
    const receipt = await infra.chain!.clients.publicClient.getTransactionReceipt({ hash: reply.txHash as `0x${string}` });
    expect(receipt.status).toBe('success');
  });

  it('given the same requestId again (an answer lost on the way), then the first answer, nothing minted twice and nothing appended', async () => {
    const first = await mint({ orgId: ORG, amountWei: 5n * AGPU, requestId: 'faucet-retry' });
    const [supply, events] = [await totalSupply(), await countEvents(infra.log, 'trade.>')];
    const again = await mint({ orgId: ORG, amountWei: 5n * AGPU, requestId: 'faucet-retry' });
    expect(again.txHash).toBe(first.txHash);
    expect(await totalSupply()).toBe(supply);
    expect(await countEvents(infra.log, 'trade.>')).toBe(events);
  });

  it('given the same request twice at once (a retry after a gateway timeout), then one mint, one record, and both answers are the same', async () => {
    const [supply, before] = [await totalSupply(), await balanceOf(account)];
    const [a, b] = await Promise.all([mint({ orgId: ORG, amountWei: 3n * AGPU, requestId: 'faucet-twice' }), mint({ orgId: ORG, amountWei: 3n * AGPU, requestId: 'faucet-twice' })]);
    expect(b.txHash).toBe(a.txHash);
    expect(await totalSupply()).toBe(supply + 3n * AGPU);
    expect(await balanceOf(account)).toBe(before + 3n * AGPU);
    const { events } = await infra.log.readSubject(`trade.account.${ORG}`);
    const ofRequest = events.filter((e) => e.event.causationId === 'faucet-twice').map((e) => e.event.type);
    expect(ofRequest).toEqual(['MintRequested', 'AccountFunded']);
  });

  it('given a crash after the mint transaction and before its record, when the request is retried, then it is recorded with that transaction and nothing more is minted', async () => {
    const requestId = 'faucet-crash-after-mint';
    const mintRef = faucetMintRef(ORG, requestId);
    // what the first attempt did before it died: the request on the log, the mint on chain
    await deployer.rt.execute('account', ORG, mintDecider, { type: 'RequestMint', mintRef, amountWei: 4n * AGPU }, { correlationId: ORG, causationId: requestId, actor: 'service:deployer' });
    const { publicClient, wallet } = infra.chain!.clients;
    const onChain = await mintAgpuOnce(wallet(infra.chain!.roles.minter), publicClient, { token: infra.chain!.addresses.token, to: account, amountWei: 4n * AGPU, mintRef });
    const supply = await totalSupply();

    const reply = await mint({ orgId: ORG, amountWei: 4n * AGPU, requestId });
    expect(reply.txHash).toBe(onChain.txHash);
    expect(await totalSupply()).toBe(supply);
    const { events } = await infra.log.readSubject(`trade.account.${ORG}`);
    const ofRequest = events.filter((e) => e.event.causationId === requestId).map((e) => e.event);
    expect(ofRequest.map((e) => e.type)).toEqual(['MintRequested', 'AccountFunded']);
    expect(ofRequest[1]).toMatchObject({ data: { txHash: onChain.txHash, mintRef, amountWei: 4n * AGPU } });
  });

  it('given the same requestId for another amount, then IDEMPOTENCY_KEY_REUSED, nothing minted and nothing appended', async () => {
    await mint({ orgId: ORG, amountWei: 2n * AGPU, requestId: 'faucet-reused' });
    const [supply, events] = [await totalSupply(), await countEvents(infra.log, 'trade.>')];
    const err = await refusal(mint({ orgId: ORG, amountWei: 9n * AGPU, requestId: 'faucet-reused' }));
    expect(err).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', kind: 'unprocessable' });
    expect(await totalSupply()).toBe(supply);
    expect(await countEvents(infra.log, 'trade.>')).toBe(events);
  });

  it.each([
    ['an org that is not registered', { orgId: 'org-nobody', amountWei: AGPU, requestId: 'r-1' }, 'ORG_NOT_FOUND', 'not-found'],
    ['more than the faucet limit', { orgId: ORG, amountWei: LIMITS.faucetAmountWeiMax + 1n, requestId: 'r-2' }, 'FAUCET_LIMIT', 'invalid'],
    ['an amount of 0', { orgId: ORG, amountWei: 0n, requestId: 'r-3' }, 'AMOUNT_NOT_POSITIVE', 'invalid'],
  ])('given %s, then %s, nothing minted and nothing appended', async (_what, payload, code, kind) => {
    const [supply, events] = [await totalSupply(), await countEvents(infra.log, 'trade.>')];
    const err = await refusal(mint(payload));
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code, kind });
    expect(await totalSupply()).toBe(supply);
    expect(await countEvents(infra.log, 'trade.>')).toBe(events);
  });

  it('given exactly the faucet limit, then it is minted', async () => {
    const before = await balanceOf(account);
    await mint({ orgId: ORG, amountWei: LIMITS.faucetAmountWeiMax, requestId: 'faucet-max' });
    expect(await balanceOf(account)).toBe(before + LIMITS.faucetAmountWeiMax);
  });

  it.each([
    ['a negative amount', { amountWei: '-1' }, 'amountWei'],
    ['an amount that is a number, not a decimal string', { amountWei: 5 }, 'amountWei'],
    ['a requestId of 129 characters', { requestId: 'r'.repeat(129) }, 'requestId'],
    ['a requestId with a space', { requestId: 'two words' }, 'requestId'],
    ['an unknown field', { colour: 'blue' }, 'colour'],
  ])('given a payload with %s sent raw, then COMMAND_INVALID names the field; nothing minted, nothing appended', async (_what, over, field) => {
    const [supply, events] = [await totalSupply(), await countEvents(infra.log, 'trade.>')];
    const wire = { orgId: ORG, amountWei: '1000', requestId: 'raw-1', ...over };
    // sent raw, as any NATS client could: the handler's own parse is what refuses it
    const nc = await connect({ servers: infra.nats.url });
    try {
      const reply = JSON.parse((await nc.request(COMMANDS.deployer.mint.subject, JSON.stringify(wire), { timeout: 5_000 })).string());
      expect(reply.err).toMatchObject({ code: 'COMMAND_INVALID', kind: 'invalid' });
      expect(reply.err.details.violations.map((v: { field: string; message: string }) => `${v.field} ${v.message}`).join('; ')).toContain(field);
    } finally {
      await nc.close();
    }
    expect(await totalSupply()).toBe(supply);
    expect(await countEvents(infra.log, 'trade.>')).toBe(events);
  });
});

import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { mintAgpu, stakeAgpu } from '@starminer/chain';
import { COMMANDS, type TradeEvent } from '@starminer/events';
import { countEvents, eventually, serviceUnderTest } from '@starminer/service-testing';
import { NodeRow } from '../nodes/node-row.entity';
import { registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';
import { ChainCursor } from './chain-cursor.entity';

const AGPU = 10n ** 18n;
const under = serviceUnderTest(RegistryModule, { chain: true });

/** Mints AGPU to a fresh node key and stakes it into `poolId` (the minter sends the transaction, with the key's permit). */
async function stake(staker: ReturnType<typeof privateKeyToAccount>, poolId: string, amountWei: bigint): Promise<bigint> {
  const chain = under.infra.chain!;
  const minter = chain.clients.wallet(chain.roles.minter);
  await mintAgpu(minter, chain.clients.publicClient, { token: chain.addresses.token, to: staker.address, amountWei });
  const { blockNumber } = await stakeAgpu(minter, chain.clients.publicClient, { addresses: chain.addresses, poolId, staker, amountWei });
  return blockNumber;
}
const cursorReached = (block: bigint) => eventually(async () => BigInt((await under.service.rt.db.getRepository(ChainCursor).findOneBy({ name: 'staking' }))?.block ?? -1) >= block, 15_000);

describe('the stake watcher (a chain with a staking contract is configured)', () => {
  it('given a registered node key that stakes in the pool it registered with, then NodeStakeChanged with the stake the contract holds, and the read model follows', async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    await under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress: key.address, registration: registration('node-s1', { poolId: 'pool-gold', stakeWei: 0n }) });
    const block = await stake(key, 'pool-gold', 300n * AGPU);
    await cursorReached(block);
    const changes = (await under.infra.log.readSubject<TradeEvent>('trade.node.node-s1')).events.flatMap((e) => (e.event.type === 'NodeStakeChanged' ? [e.event] : []));
    expect(changes.map((e) => [e.data.poolId, e.data.stakeWei, e.data.blockNumber, e.actor])).toEqual([['pool-gold', 300n * AGPU, String(block), 'service:registry']]);
    await eventually(async () => (await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-s1' }))?.stakeWei === 300n * AGPU);
  });

  it('given a stake in another pool than the registered one, or by a key no node registered, then nothing is recorded', async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    await under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress: key.address, registration: registration('node-s2', { poolId: 'pool-gold', stakeWei: 0n }) });
    const before = await countEvents(under.infra.log, 'trade.node.>');
    await stake(key, 'pool-silver', 5n * AGPU);
    const block = await stake(privateKeyToAccount(generatePrivateKey()), 'pool-gold', 5n * AGPU);
    await cursorReached(block);
    expect(await countEvents(under.infra.log, 'trade.node.>')).toBe(before);
  });
});

import { Injectable } from '@nestjs/common';
import { uuidv7 } from 'uuidv7';
import { agpuBalance } from '@starminer/chain';
import { accountDecider, DomainError } from '@starminer/domain';
import { COMMANDS } from '@starminer/events';
import { CommandBus, InjectConfig, publicClientFor, ServiceRuntime } from '@starminer/service-kit';
import { ApiKeyRow } from '../auth/entities';
import { newApiKey, sha256Hex } from '../auth/guards';
import type { GatewayConfig } from '../gateway.config';
import { OrgRow } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';

/** The org use cases of the gateway: who a requester is (its org, its API key) and what its account holds. */
@Injectable()
export class Orgs {
  private readonly publicClient;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly bus: CommandBus,
    private readonly views: GatewayViews,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  /**
   * A new org: its custodial on-chain account (deployer), OrgRegistered on its own subject, and an
   * API key of which only the hash is kept.
   */
  async create(name: string): Promise<{ orgId: string; name: string; apiKey: string; accountAddress: string }> {
    const orgId = uuidv7();
    const { accountAddress, custodyIndex } = await this.bus.send(COMMANDS.deployer.allocateAccount, { orgId });
    const { seqs } = await this.rt.execute('account', orgId, accountDecider, { type: 'RegisterOrg', orgId, name, accountAddress, custodyIndex }, {
      correlationId: orgId,
      causationId: orgId,
      actor: 'operator',
    });
    const apiKey = newApiKey();
    await this.rt.db.getRepository(ApiKeyRow).insert({ keyHash: sha256Hex(apiKey), orgId, createdAt: new Date() });
    await this.views.caughtUpTo(seqs.at(-1));
    return { orgId, name, apiKey, accountAddress };
  }

  /** The org and its AGPU balance on chain. */
  async account(orgId: string): Promise<{ orgId: string; name: string; accountAddress: string; balanceWei: string }> {
    const org = await this.rt.db.getRepository(OrgRow).findOne({ where: { orgId } });
    if (!org) throw new DomainError('ORG_NOT_FOUND', 'the org of this key is not projected yet; try again');
    const balanceWei = await agpuBalance(this.publicClient, { token: this.config.MARKET_ADDRESSES.token, account: org.accountAddress as `0x${string}` });
    return { orgId: org.orgId, name: org.name, accountAddress: org.accountAddress, balanceWei: balanceWei.toString() };
  }
}

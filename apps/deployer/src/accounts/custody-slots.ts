import { Injectable } from '@nestjs/common';
import type { LocalAccount } from 'viem';
import { CustodyKeys } from '@starminer/chain';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { DeployerConfig } from '../deployer.config';
import { AccountRow } from './account-row.entity';

export interface CustodySlot {
  readonly orgId: string;
  readonly custodyIndex: number;
  /** The org's custodial account: m/44'/60'/0'/0/<custodyIndex> of CUSTODY_MNEMONIC. */
  readonly account: LocalAccount;
}

/** The orgs' custodial HD slots: allocated once per org, read by whoever signs for an org. */
@Injectable()
export class CustodySlots {
  /** Derived once per org and kept: the deployer signs for an org on every contract it opens. */
  private readonly keys: CustodyKeys;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() config: DeployerConfig,
  ) {
    this.keys = new CustodyKeys(config.CUSTODY_MNEMONIC);
  }

  /** The org's slot, allocated on its first call; every later call (any replica) finds the same one. */
  async allocate(orgId: string): Promise<CustodySlot> {
    const repo = this.rt.db.getRepository(AccountRow);
    // ON CONFLICT DO NOTHING: two calls for one org race to one row, and the loser reads the winner's index
    await repo.createQueryBuilder().insert().into(AccountRow).values({ orgId }).orIgnore().execute();
    const row = await repo.findOneByOrFail({ orgId });
    return this.slotOf(row);
  }

  /** The org's slot, or undefined when none was allocated. */
  async find(orgId: string): Promise<CustodySlot | undefined> {
    const row = await this.rt.db.getRepository(AccountRow).findOneBy({ orgId });
    return row ? this.slotOf(row) : undefined;
  }

  private slotOf(row: AccountRow): CustodySlot {
    return { orgId: row.orgId, custodyIndex: row.custodyIndex, account: this.keys.account(row.custodyIndex) };
  }
}

import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { AccountRow } from './accounts/account-row.entity';
import { CustodySlots } from './accounts/custody-slots';
import { AllocateAccountHandler } from './allocate-account/allocate-account.handler';
import { AnchorService } from './anchor/anchor.service';
import { DeployerChain } from './chain/deployer-chain';
import { deployerConfigSchema } from './deployer.config';
import { MintHandler } from './mint/mint.handler';
import { OpenContractsConsumer } from './open-contracts/open-contracts.consumer';

/**
 * Contract deployment: the orgs' custodial accounts and the dev faucet, one Compute Service
 * Contract on chain per matched job, and anchors of the log on chain.
 */
@Module({
  imports: [ServiceKitModule.forService({ service: 'deployer', config: deployerConfigSchema, entities: [AccountRow], chain: true })],
  controllers: [AllocateAccountHandler, MintHandler],
  providers: [DeployerChain, CustodySlots, OpenContractsConsumer, AnchorService],
})
export class DeployerModule {}

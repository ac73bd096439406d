import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler } from '@starminer/service-kit';
import { CustodySlots } from '../accounts/custody-slots';

const ALLOCATE = COMMANDS.deployer.allocateAccount;

/**
 * `cmd.deployer.allocateAccount`: the org's custodial account (an HD slot of CUSTODY_MNEMONIC),
 * allocated on the first call; a retry gets the same slot. The gateway calls it before it
 * registers the org, and records the address and index in OrgRegistered.
 */
@Controller()
export class AllocateAccountHandler {
  constructor(private readonly slots: CustodySlots) {}

  @CommandHandler(ALLOCATE)
  async allocateAccount(@Payload() p: PayloadOf<typeof ALLOCATE>): Promise<ReplyOf<typeof ALLOCATE>> {
    const slot = await this.slots.allocate(p.orgId);
    return { accountAddress: slot.account.address, custodyIndex: slot.custodyIndex };
  }
}

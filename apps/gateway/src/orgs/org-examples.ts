import type { z } from 'zod';
import type { accountSchema, faucetMintSchema, orgCreatedSchema } from '@starminer/events';

/** Examples of the org answers in the OpenAPI document (a spec validates each against its schema). */
export const ORG_CREATED_EXAMPLE: z.input<typeof orgCreatedSchema> = {
  orgId: '0190f5a2-7c1e-7d3a-9b1e-3f1c2d4e5a6b',
  name: 'Acme',
  apiKey: 'sm_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY',
  accountAddress: '0x5B38Da6a701c568545dCfcB03FcB875f56beddC4',
};

export const ACCOUNT_EXAMPLE: z.input<typeof accountSchema> = {
  orgId: ORG_CREATED_EXAMPLE.orgId,
  name: 'Acme',
  accountAddress: ORG_CREATED_EXAMPLE.accountAddress,
  balanceWei: '950000000000000000000',
};

export const FAUCET_MINT_EXAMPLE: z.input<typeof faucetMintSchema> = {
  txHash: '0x8f4c1b2a3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8',
  balanceWei: '1000000000000000000000',
};

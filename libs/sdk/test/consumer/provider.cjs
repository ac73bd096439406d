// The CommonJS entries of the INSTALLED package: the requester's reads and pages, and the provider
// entry (with viem, its peer dependency) signing for the market. libs/sdk/test/pack.spec.ts runs it.
const { createClient, formatAgpu, StarMinerApiError } = require('@starminer/sdk');
const { createProviderClient, normalizeOrigin } = require('@starminer/sdk/provider');
const { generatePrivateKey, privateKeyToAccount } = require('viem/accounts');

const { GATEWAY_URL, CHAIN_ID, GPU_MODEL } = process.env;

async function main() {
  const sm = createClient({ baseUrl: GATEWAY_URL });
  const board = await sm.getPrices({});
  const nodes = [];
  for await (const n of sm.nodes({ filter: `gpu=${GPU_MODEL}` })) nodes.push(n.nodeId);

  const provider = createProviderClient({ baseUrl: GATEWAY_URL, chainId: Number(CHAIN_ID), account: privateKeyToAccount(generatePrivateKey()) });
  let unknownNode;
  try {
    await provider.getNodeStatus({ nodeId: 'node-nobody-registered' });
  } catch (err) {
    // thrown by the provider entry, an instance of the main entry's class: one copy of it in the package
    unknownNode = { isApiError: err instanceof StarMinerApiError, status: err.status, code: err.code };
  }
  console.log(JSON.stringify({ markets: board.markets.length, nodes, unknownNode, origin: normalizeOrigin(GATEWAY_URL), formatted: formatAgpu('1500000000000000000') }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

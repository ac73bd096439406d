/**
 * The Kubernetes Job that deploys the market's contracts and publishes their addresses
 * (deploy/k8s/base/deploy-contracts.yaml): `node dist/tools/deploy-contracts/main.js`.
 */
import { deployContractsOnce, loadDeployContractsConfig } from './deploy-contracts';
import { inClusterApi, kubeConfigMapStore } from './kube-configmap';

async function main(): Promise<void> {
  const config = loadDeployContractsConfig();
  const api = inClusterApi();
  const store = kubeConfigMapStore(api, api.namespace, config.MARKET_CONFIGMAP);
  await deployContractsOnce(config, store, (line) => console.log(line));
}

main().catch((err: unknown) => {
  console.error(`[deploy-contracts] ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});

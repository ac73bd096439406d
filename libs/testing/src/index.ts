export { freePort, freePortRange, portAcceptsConnections } from './ports';
export { TestInfraError } from './errors';
export { startNats, NATS_START_TIMEOUT_MS, NATS_STOP_TIMEOUT_MS, type TestNats } from './nats';
export {
  createTestDatabase,
  testPostgresKind,
  stopEmbeddedPostgres,
  LOCAL_POSTGRES_URL,
  POSTGRES_PROBE_TIMEOUT_MS,
  EMBEDDED_POSTGRES_START_TIMEOUT_MS,
  EMBEDDED_POSTGRES_CHILD,
  type TestDatabase,
} from './postgres';
export { startAnvil, type AnvilHandle, type StartAnvilOptions } from './anvil';
export {
  TEST_INFRA_ENV,
  TEST_INFRA_SWITCHES,
  CONTAINER_ENGINE_PROBE_TIMEOUT_MS,
  chooseTestInfra,
  decideTestInfraMode,
  parseTestInfraSwitch,
  probeContainerEngine,
  testInfraMode,
  type EngineProbe,
  type TestInfraChoice,
  type TestInfraMode,
  type TestInfraSwitch,
} from './containers-mode';
export { eventually } from './eventually';
export { seededRandom } from './random';

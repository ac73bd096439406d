import { TestInfraError } from './errors';

/**
 * The one switch for where the tests' NATS, Postgres and anvil run: `containers` (testcontainers on a
 * Docker engine), `local` (the binaries on this machine, as always) or `auto` (the default:
 * containers when an engine answers, else local). `npm test` decides once per run and hands the
 * decided mode to the jest workers in this same variable.
 */
export const TEST_INFRA_ENV = 'STARMINER_TEST_INFRA';
export const TEST_INFRA_SWITCHES = ['auto', 'containers', 'local'] as const;
export type TestInfraSwitch = (typeof TEST_INFRA_SWITCHES)[number];
export type TestInfraMode = Exclude<TestInfraSwitch, 'auto'>;

/**
 * How long asking for a container engine may take. A machine without one fails at once (no socket);
 * this bounds an engine that is configured (DOCKER_HOST, a socket file) but does not answer, so
 * `auto` falls back to the local binaries instead of hanging the run.
 */
export const CONTAINER_ENGINE_PROBE_TIMEOUT_MS = 5_000;

/** What asking for a container engine found. */
export type EngineProbe = { readonly answered: true; readonly engine: string } | { readonly answered: false; readonly reason: string };

export interface TestInfraChoice {
  readonly mode: TestInfraMode;
  readonly switchValue: TestInfraSwitch;
  /** One line for the run's log: the switch and what decided it. */
  readonly why: string;
}

/** The switch's value (unset or empty: `auto`); anything else is refused, naming the variable. */
export function parseTestInfraSwitch(value: string | undefined): TestInfraSwitch {
  if (value === undefined || value === '') return 'auto';
  if ((TEST_INFRA_SWITCHES as readonly string[]).includes(value)) return value as TestInfraSwitch;
  throw new TestInfraError('TEST_INFRA_SWITCH_INVALID', `${TEST_INFRA_ENV}=${value} is not one of ${TEST_INFRA_SWITCHES.join(', ')}`);
}

/** Whether the switch needs to ask for an engine (`local` never loads testcontainers). */
export function switchNeedsProbe(switchValue: TestInfraSwitch): boolean {
  return switchValue !== 'local';
}

/** The mode for a switch and what the engine probe said (pure; `probe` is undefined when not asked). */
export function decideTestInfraMode(switchValue: TestInfraSwitch, probe: EngineProbe | undefined): TestInfraChoice {
  switch (switchValue) {
    case 'local':
      return { mode: 'local', switchValue, why: `${TEST_INFRA_ENV}=local` };
    case 'containers':
      if (probe?.answered) return { mode: 'containers', switchValue, why: `${TEST_INFRA_ENV}=containers; ${probe.engine}` };
      throw new TestInfraError(
        'CONTAINER_ENGINE_UNAVAILABLE',
        `${TEST_INFRA_ENV}=containers but no container engine answers (${probe?.reason ?? 'not asked'}): start Docker or point DOCKER_HOST at one, ` +
          `or set ${TEST_INFRA_ENV}=local (or auto) to run the local nats-server, Postgres and anvil`,
      );
    case 'auto':
      return probe?.answered
        ? { mode: 'containers', switchValue, why: `${TEST_INFRA_ENV}=auto; ${probe.engine}` }
        : { mode: 'local', switchValue, why: `${TEST_INFRA_ENV}=auto; no container engine answers (${probe?.reason ?? 'not asked'})` };
    default: {
      const never: never = switchValue;
      throw new TestInfraError('TEST_INFRA_SWITCH_INVALID', `unknown switch ${String(never)}`);
    }
  }
}

/**
 * Asks testcontainers' own runtime detection (DOCKER_HOST, ~/.testcontainers.properties, the
 * usual sockets) for an engine, for at most `timeoutMs`, loading testcontainers only now.
 */
export async function probeContainerEngine(timeoutMs = CONTAINER_ENGINE_PROBE_TIMEOUT_MS): Promise<EngineProbe> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<EngineProbe>((resolve) => {
    timer = setTimeout(() => resolve({ answered: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const asked = (async (): Promise<EngineProbe> => {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const { containerRuntime: rt } = (await getContainerRuntimeClient()).info;
    return { answered: true, engine: `container engine ${rt.serverVersion} (${rt.operatingSystem}) at ${rt.host}` };
  })().catch((err: unknown): EngineProbe => ({ answered: false, reason: err instanceof Error ? err.message : String(err) }));
  try {
    return await Promise.race([asked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the switch, asks for an engine when it has to, and decides. */
export async function chooseTestInfra(opts: { value?: string; timeoutMs?: number } = {}): Promise<TestInfraChoice> {
  const switchValue = parseTestInfraSwitch(opts.value);
  const probe = switchNeedsProbe(switchValue) ? await probeContainerEngine(opts.timeoutMs) : undefined;
  return decideTestInfraMode(switchValue, probe);
}

let processChoice: Promise<TestInfraChoice> | undefined;

/**
 * This process's mode, decided once from `STARMINER_TEST_INFRA` (under `npm test` already decided:
 * `local` or `containers`). A forced `containers` without an engine rejects, naming the switch.
 */
export function testInfraMode(): Promise<TestInfraMode> {
  processChoice ??= chooseTestInfra({ value: process.env[TEST_INFRA_ENV] }).catch((err: unknown) => {
    processChoice = undefined;
    throw err;
  });
  return processChoice.then((c) => c.mode);
}

/**
 * Decides the test infrastructure in a fresh process (the decision, and testcontainers' reading of
 * DOCKER_HOST, happen once per process) and prints one JSON line: what was decided (or the error),
 * how long it took, and whether testcontainers was loaded. argv[2]: `choose` (with argv[3], the
 * probe's time limit in ms) or `startNats` (the selection point itself, with its named limit).
 */
import { chooseTestInfra, startNats } from '../src';

async function main(): Promise<Record<string, unknown>> {
  const [what, timeoutMs] = process.argv.slice(2);
  if (what === 'choose') {
    const choice = await chooseTestInfra({ value: process.env.STARMINER_TEST_INFRA, timeoutMs: Number(timeoutMs) });
    return { mode: choice.mode, why: choice.why };
  }
  const nats = await startNats();
  await nats.stop();
  return { url: nats.url };
}

const started = Date.now();
const loaded = (): boolean => Object.keys(require.cache).some((k) => k.includes('/node_modules/testcontainers/'));
main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ ...result, elapsedMs: Date.now() - started, testcontainersLoaded: loaded() })}\n`);
    // a probe that never got its answer may still hold a socket open
    process.exit(0);
  },
  (err: { code?: string; message?: string }) => {
    process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message }, elapsedMs: Date.now() - started, testcontainersLoaded: loaded() })}\n`);
    process.exit(0);
  },
);

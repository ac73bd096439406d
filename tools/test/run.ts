/**
 * `npm test`: makes sure what the tests start can start (a nats-server >= 2.10, the compiled
 * contracts), then runs jest with the arguments given (`npm test -- libs/sdk`), exiting with
 * jest's code. The tests start their own nats-server (NATS_SERVER_BIN is set to the one found
 * here), their own anvil and their own databases; the console's browser test drives the system's
 * Chromium (CHROMIUM_BIN, found or installed here: tools/test/chromium.ts).
 * STARMINER_TEST_INFRA (auto | containers | local) is decided here, once, and the decided mode
 * goes to the workers: on `containers` the images are pulled and one Postgres container is started
 * for the run (removed after it), and NATS and anvil run in containers (docs/TESTING.md).
 * nats-server is required before the mode is chosen, on every path: specs that start a server by
 * its `binary` (the stack's e2e spec, tools/stack) run it locally even on `containers`.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureArtifacts } from '../../contracts/scripts/compile';
import { chooseTestInfra, TEST_INFRA_ENV } from '../../libs/testing/src/containers-mode';
import { TestInfraError } from '../../libs/testing/src/errors';
import { ensureNatsServer, NatsServerMissing } from '../stack/nats-binary';
import { ChromiumMissing, ensureChromium } from './chromium';

const ROOT = resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  let natsBin: string;
  try {
    natsBin = ensureNatsServer((line) => console.log(line));
  } catch (err) {
    if (err instanceof NatsServerMissing) {
      console.error(`npm test: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  let chromiumBin: string;
  try {
    chromiumBin = ensureChromium((line) => console.log(line));
  } catch (err) {
    if (err instanceof ChromiumMissing) {
      console.error(`npm test: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const compiled = ensureArtifacts();
  console.log(`npm test: nats-server ${natsBin}; chromium ${chromiumBin}; contracts ${compiled.compiled ? 'compiled' : 'up to date'} (${compiled.contracts.join(', ')})`);

  let infra: { env: Record<string, string>; stop(): Promise<void> } = { env: {}, stop: async () => undefined };
  try {
    const choice = await chooseTestInfra({ value: process.env[TEST_INFRA_ENV] });
    console.log(`npm test: test infrastructure: ${choice.mode} (${choice.why})`);
    if (choice.mode === 'containers') {
      const { startRunContainers } = await import('../../libs/testing/src/containers');
      infra = await startRunContainers((line) => console.log(`npm test: ${line}`));
    }
    infra.env[TEST_INFRA_ENV] = choice.mode;
  } catch (err) {
    if (err instanceof TestInfraError) {
      console.error(`npm test: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const jest = join(ROOT, 'node_modules', '.bin', 'jest');
  const child = spawn(jest, process.argv.slice(2), { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NATS_SERVER_BIN: natsBin, CHROMIUM_BIN: chromiumBin, ...infra.env } });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('error', (err) => {
    console.error(`npm test: could not run ${jest}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1);
    infra.stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        console.error(`npm test: could not remove the run's containers (Ryuk will): ${String(err)}`);
        process.exit(exitCode);
      },
    );
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * `npm test`: makes sure what the tests start can start (a nats-server >= 2.10, the compiled
 * contracts), then runs jest with the arguments given (`npm test -- libs/sdk`), exiting with
 * jest's code. The tests start their own nats-server (NATS_SERVER_BIN is set to the one found
 * here), their own anvil and their own databases.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureArtifacts } from '../../contracts/scripts/compile';
import { ensureNatsServer, NatsServerMissing } from '../stack/nats-binary';

const ROOT = resolve(__dirname, '..', '..');

function main(): void {
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
  const compiled = ensureArtifacts();
  console.log(`npm test: nats-server ${natsBin}; contracts ${compiled.compiled ? 'compiled' : 'up to date'} (${compiled.contracts.join(', ')})`);

  const jest = join(ROOT, 'node_modules', '.bin', 'jest');
  const child = spawn(jest, process.argv.slice(2), { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NATS_SERVER_BIN: natsBin } });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('error', (err) => {
    console.error(`npm test: could not run ${jest}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1)));
}

main();

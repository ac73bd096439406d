import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Abi, type Hex } from 'viem';
import { artifacts } from './artifacts';

/**
 * Every failure of a chain action. `code` is the Solidity custom error's name when the chain
 * reverted (e.g. 'DeadlineNotReached', 'ERC20InsufficientAllowance', 'AccessControlUnauthorizedAccount'),
 * or a name of ours for what happened off chain ('JobIdConflict', 'TransactionReverted',
 * 'CostTooLarge', 'ChainUnavailable'). `args` holds the error's decoded arguments.
 */
export class ChainActionError extends Error {
  readonly code: string;
  readonly args: readonly unknown[];
  constructor(code: string, message: string, opts: { cause?: unknown; args?: readonly unknown[] } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ChainActionError';
    this.code = code;
    this.args = opts.args ?? [];
  }
}

let allErrorsAbi: Abi | undefined;

/** Every custom error of every market contract (and of the OpenZeppelin bases they use), deduplicated. */
export function marketErrorsAbi(): Abi {
  if (allErrorsAbi) return allErrorsAbi;
  const seen = new Set<string>();
  const out: Abi[number][] = [];
  for (const artifact of Object.values(artifacts())) {
    for (const item of artifact.abi as Abi) {
      if (item.type !== 'error') continue;
      const key = `${item.name}(${item.inputs.map((i) => i.type).join(',')})`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(item);
    }
  }
  allErrorsAbi = out;
  return allErrorsAbi;
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** Map anything a viem call threw into a ChainActionError (decoding reverts against every market error). */
export function toChainActionError(err: unknown, action: string): ChainActionError {
  if (err instanceof ChainActionError) return err;
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      let name = revert.data?.errorName;
      let args: readonly unknown[] = revert.data?.args ?? [];
      const raw = revert.raw as Hex | undefined;
      if ((!name || name === 'Error') && raw && raw.length >= 10 && !revert.reason) {
        try {
          const decoded = decodeErrorResult({ abi: marketErrorsAbi(), data: raw });
          name = decoded.errorName;
          args = decoded.args ?? [];
        } catch {
          /* unknown selector: keep what viem found */
        }
      }
      const code = name && name !== 'Error' ? name : revert.reason ? 'Reverted' : 'UnknownRevert';
      const detail = revert.reason ?? (args.length ? stringify(args) : revert.signature ?? '');
      return new ChainActionError(code, `${action}: reverted with ${code}${detail ? ` ${detail}` : ''}`, { cause: err, args });
    }
    // Reverts outside a contract call (a deployment, a raw transaction) carry only the raw data.
    const raw = err.walk((e) => typeof (e as { data?: unknown }).data === 'string' && /^0x[0-9a-f]{8}/i.test((e as { data: string }).data));
    const data = (raw as { data?: Hex } | null)?.data;
    if (data) {
      try {
        const decoded = decodeErrorResult({ abi: marketErrorsAbi(), data });
        const args = decoded.args ?? [];
        return new ChainActionError(decoded.errorName, `${action}: reverted with ${decoded.errorName} ${stringify(args)}`, { cause: err, args });
      } catch {
        /* not one of ours */
      }
    }
    return new ChainActionError('ChainUnavailable', `${action}: ${err.shortMessage}`, { cause: err });
  }
  return new ChainActionError('ChainUnavailable', `${action}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

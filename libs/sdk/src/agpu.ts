import { AgpuFormatError } from './errors';
import { SDK_LIMITS } from './limits';

/** AGPU has 18 decimals: 1 AGPU = 10^18 base units (wei). */
export const AGPU_DECIMALS = 18;
const WEI_PER_AGPU = 10n ** BigInt(AGPU_DECIMALS);
// digits with an optional fraction, where either side of the point may be empty but not both
// ('1.5', '.5', '1.'), as viem's parseUnits reads them; an optional leading minus
const AGPU_TEXT = /^(-)?(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))$/;
const WEI_TEXT = /^-?[0-9]+$/;

/**
 * An AGPU amount written in tokens (`'1.5'`, `'50'`, `'0.000000000000000001'`, also `'.5'` and
 * `'1.'` as viem's parseUnits reads them) as exact base units (`1_500_000_000_000_000_000n`).
 * Never goes through a float. Refuses, with AgpuFormatError, a nonzero digit past the 18th decimal
 * (`AGPU_TOO_MANY_DECIMALS`: it would lose a part of the amount; zeros there are exact and read)
 * and anything that is not a plain decimal (`AGPU_MALFORMED`: exponents, separators, spaces, a
 * plus sign, a lone point, an empty text).
 */
export function parseAgpu(text: string): bigint {
  if (typeof text !== 'string' || text.length > SDK_LIMITS.agpuTextCharsMax) {
    throw new AgpuFormatError('AGPU_MALFORMED', `an AGPU amount is a decimal text of at most ${SDK_LIMITS.agpuTextCharsMax} characters`);
  }
  const m = AGPU_TEXT.exec(text);
  if (!m) throw new AgpuFormatError('AGPU_MALFORMED', `not an AGPU amount: ${JSON.stringify(text)} (write it like 1.5 or 50)`);
  const [, minus, whole = '', fractionAfterWhole, fractionAlone] = m;
  // trailing zeros change nothing: '1.0000000000000000000' is exactly 1
  const fraction = (fractionAfterWhole ?? fractionAlone ?? '').replace(/0+$/, '');
  if (fraction.length > AGPU_DECIMALS) {
    throw new AgpuFormatError('AGPU_TOO_MANY_DECIMALS', `AGPU has ${AGPU_DECIMALS} decimals; ${JSON.stringify(text)} has ${fraction.length}`);
  }
  const wei = BigInt(whole || '0') * WEI_PER_AGPU + BigInt(fraction.padEnd(AGPU_DECIMALS, '0'));
  return minus ? -wei : wei;
}

/**
 * Base units (a bigint, or a decimal string as the API writes amounts) as an exact AGPU text:
 * `1_500_000_000_000_000_000n` → `'1.5'`, `0n` → `'0'`. No rounding and no trailing zeros, so
 * `parseAgpu(formatAgpu(x)) === x` for every x.
 */
export function formatAgpu(wei: bigint | string): string {
  let value: bigint;
  if (typeof wei === 'bigint') value = wei;
  else if (typeof wei === 'string' && wei.length <= SDK_LIMITS.agpuTextCharsMax && WEI_TEXT.test(wei)) value = BigInt(wei);
  else throw new AgpuFormatError('AGPU_MALFORMED', `not an amount of base units: ${JSON.stringify(wei)}`);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const whole = abs / WEI_PER_AGPU;
  const fraction = (abs % WEI_PER_AGPU).toString().padStart(AGPU_DECIMALS, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

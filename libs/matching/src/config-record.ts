import { createHash } from 'node:crypto';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './config';

/**
 * The configuration an engine decided with, as every receipt records it: its hash, and what
 * differs from the defaults of its engine version (`delta`, JSON: bigints as decimal strings).
 * An auditor rebuilds the configuration as `engineConfigFromDelta(delta)` over the defaults of
 * that version, and the hash says whether it rebuilt exactly the one the engine ran.
 */
export interface EngineConfigRecord {
  /** `sha256:<hex>` of the configuration's canonical JSON (keys sorted, bigints as decimal strings) */
  readonly hash: string;
  readonly delta: Record<string, unknown>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A configuration value as JSON (bigints as decimal strings), objects with their keys sorted. */
function jsonOf(value: unknown): Json {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = jsonOf(v);
    }
    return out;
  }
  return value as Json;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function engineConfigHash(config: EngineConfig): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(jsonOf(config))).digest('hex')}`;
}

/** The fields of `config` that differ from `base`, nested as in the configuration (null: a field `base` has and `config` lacks). */
export function engineConfigDelta(config: EngineConfig, base: EngineConfig = DEFAULT_ENGINE_CONFIG): Record<string, unknown> {
  const diff = (a: unknown, b: unknown): Json | undefined => {
    if (isObject(a) && isObject(b)) {
      const out: { [key: string]: Json } = {};
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        const d = key in a ? diff(a[key], b[key]) : null;
        if (d !== undefined) out[key] = d;
      }
      return Object.keys(out).length ? out : undefined;
    }
    return JSON.stringify(jsonOf(a)) === JSON.stringify(jsonOf(b)) ? undefined : jsonOf(a);
  };
  return (diff(config, base) as Record<string, unknown> | undefined) ?? {};
}

/** The configuration a recorded delta makes of `base` (the inverse of engineConfigDelta). */
export function engineConfigFromDelta(delta: Record<string, unknown>, base: EngineConfig = DEFAULT_ENGINE_CONFIG): EngineConfig {
  const merge = (b: unknown, d: unknown, path: string): unknown => {
    if (isObject(d) && (isObject(b) || b === undefined)) {
      const out: Record<string, unknown> = isObject(b) ? { ...b } : {};
      for (const [key, v] of Object.entries(d)) {
        if (v === null) delete out[key];
        else out[key] = merge(out[key], v, `${path}.${key}`);
      }
      return out;
    }
    // amounts: a bigint in the defaults, or a base price the defaults lack
    if (typeof d === 'string' && /^[0-9]+$/.test(d) && (typeof b === 'bigint' || path.startsWith('.pricing.basePricesWeiPerGpuHour.'))) return BigInt(d);
    return d;
  };
  return merge(base, delta, '') as EngineConfig;
}

export function engineConfigRecord(config: EngineConfig, base: EngineConfig = DEFAULT_ENGINE_CONFIG): EngineConfigRecord {
  return { hash: engineConfigHash(config), delta: engineConfigDelta(config, base) };
}

/** `sha256:<hex>` of a JSON value (the demand mix a receipt's decision was scored with). */
export function jsonDigest(value: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(jsonOf(value))).digest('hex')}`;
}

import { XMLParser } from 'fast-xml-parser';
import type { GpuTelemetry } from '@starminer/events';

/**
 * What `nvidia-smi` says about this host's GPUs, parsed: the XML device report (`nvidia-smi -q -x`)
 * for the device, its driver, CUDA, MIG and memory; the CSV query (`--query-gpu=... --format=csv`)
 * for the compute capability the XML does not carry and for the live figures; `nvidia-smi
 * conf-compute -f` for confidential computing. Pure functions over the tools' text: the specs feed
 * them real H200 output (../shared/data/gpu).
 */

export class HardwareError extends Error {
  override readonly name = 'HardwareError';
  constructor(
    readonly code: 'NO_GPU' | 'NVIDIA_SMI_FAILED' | 'BENCHMARK_FAILED' | 'REPORT_UNREADABLE' | 'UNKNOWN_GPU_MODEL' | 'MIXED_GPU_MODELS' | 'TOO_MANY_GPUS' | 'PROFILE_MISMATCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type MigMode = 'enabled' | 'disabled' | 'unsupported';
export type ConfidentialComputeMode = 'on' | 'off' | 'unknown';

/** A GPU's live figures; null where the board reports N/A. */
export interface GpuLive {
  utilizationPct: number | null;
  memoryUsedMiB: number | null;
  powerDrawW: number | null;
  powerLimitW: number | null;
  temperatureC: number | null;
}

export interface GpuDevice {
  /** nvidia-smi's index (the XML's minor number) */
  index: number;
  productName: string;
  architecture: string | null;
  uuid: string;
  pciBusId: string;
  memoryTotalMiB: number;
  /** "9.0" for Hopper; from the CSV query (null when only the XML was read) */
  computeCapability: string | null;
  mig: { current: MigMode; pending: MigMode };
  live: GpuLive;
}

export interface HardwareReport {
  driverVersion: string;
  cudaVersion: string | null;
  gpus: GpuDevice[];
  confidentialCompute: ConfidentialComputeMode;
}

// ------------------------------------------------------------------ values

const NOT_AVAILABLE = /^(\[?N\/A\]?|\[Not Supported\]|Not Supported|\[Unknown Error\]|Unknown Error|)$/i;

/** "143771 MiB", "102.12 W", "43 C", "0 %", "43" -> the number; N/A and friends -> null. */
export function figureOf(text: unknown): number | null {
  if (text === undefined || text === null) return null;
  const s = String(text).trim();
  if (NOT_AVAILABLE.test(s)) return null;
  const m = /^(-?\d+(?:\.\d+)?)\s*(?:MiB|W|C|%|MHz)?$/.exec(s);
  if (!m) throw new HardwareError('REPORT_UNREADABLE', `nvidia-smi printed '${s}' where a figure was expected`);
  return Number(m[1]);
}

const migModeOf = (text: unknown): MigMode => {
  const s = String(text ?? '').trim().toLowerCase();
  return s === 'enabled' ? 'enabled' : s === 'disabled' ? 'disabled' : 'unsupported';
};

const textOf = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

// ------------------------------------------------------------------ nvidia-smi -q -x

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // "13.0", "580.159.04", "00000000:00:06.0" stay text: every figure is read by figureOf
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name, jpath) => jpath === 'nvidia_smi_log.gpu' || name === 'process_info',
  processEntities: false,
});

type Node = Record<string, unknown>;
const child = (n: unknown, key: string): Node => ((n && typeof n === 'object' ? (n as Node)[key] : undefined) ?? {}) as Node;

/** `nvidia-smi -q -x`: the driver, CUDA version and every GPU (compute capability is the CSV's: null here). */
export function parseNvidiaSmiXml(text: string): Omit<HardwareReport, 'confidentialCompute'> & { ccProtectedMemoryMiB: number } {
  let doc: Node;
  try {
    doc = xml.parse(text) as Node;
  } catch (err) {
    throw new HardwareError('REPORT_UNREADABLE', `nvidia-smi -q -x printed no readable XML: ${(err as Error).message}`, { cause: err });
  }
  const log = doc['nvidia_smi_log'] as Node | undefined;
  if (!log || typeof log !== 'object') throw new HardwareError('REPORT_UNREADABLE', 'nvidia-smi -q -x printed no <nvidia_smi_log>');
  const gpus = (log['gpu'] as Node[] | undefined) ?? [];
  let ccProtectedMemoryMiB = 0;
  const devices = gpus.map((g, order): GpuDevice => {
    const power = child(g, 'gpu_power_readings');
    // older drivers (before R535) print one <power_readings>
    const legacyPower = child(g, 'power_readings');
    ccProtectedMemoryMiB += figureOf(child(g, 'cc_protected_memory_usage')['total']) ?? 0;
    const memoryTotalMiB = figureOf(child(g, 'fb_memory_usage')['total']);
    if (memoryTotalMiB === null) throw new HardwareError('REPORT_UNREADABLE', `GPU ${order}: nvidia-smi -q -x has no fb_memory_usage total`);
    const productName = textOf(g['product_name']);
    if (!productName) throw new HardwareError('REPORT_UNREADABLE', `GPU ${order}: nvidia-smi -q -x has no product_name`);
    return {
      index: figureOf(g['minor_number']) ?? order,
      productName,
      architecture: textOf(g['product_architecture']) || null,
      uuid: textOf(g['uuid']),
      pciBusId: textOf(g['@_id']),
      memoryTotalMiB,
      computeCapability: null,
      mig: { current: migModeOf(child(g, 'mig_mode')['current_mig']), pending: migModeOf(child(g, 'mig_mode')['pending_mig']) },
      live: {
        utilizationPct: figureOf(child(g, 'utilization')['gpu_util']),
        memoryUsedMiB: figureOf(child(g, 'fb_memory_usage')['used']),
        powerDrawW: figureOf(power['instant_power_draw'] ?? power['power_draw'] ?? legacyPower['power_draw']),
        powerLimitW: figureOf(power['current_power_limit'] ?? legacyPower['power_limit']),
        temperatureC: figureOf(child(g, 'temperature')['gpu_temp']),
      },
    };
  });
  const attached = figureOf(log['attached_gpus']);
  if (attached !== null && attached !== devices.length) {
    throw new HardwareError('REPORT_UNREADABLE', `nvidia-smi -q -x says ${attached} GPU(s) attached but describes ${devices.length}`);
  }
  return { driverVersion: textOf(log['driver_version']), cudaVersion: textOf(log['cuda_version']) || null, gpus: devices, ccProtectedMemoryMiB };
}

// ------------------------------------------------------------------ nvidia-smi --query-gpu=... --format=csv

/** The columns the agent asks for at start (the fixture h200-query-gpu.csv is this query's output). */
export const QUERY_GPU_FIELDS = [
  'index', 'name', 'uuid', 'memory.total', 'memory.used', 'utilization.gpu', 'power.draw', 'power.limit', 'temperature.gpu', 'clocks.max.sm', 'driver_version', 'pci.bus_id', 'compute_cap',
] as const;
/** The columns of a heartbeat's sample. */
export const TELEMETRY_FIELDS = ['index', 'utilization.gpu', 'memory.used', 'power.draw', 'power.limit', 'temperature.gpu'] as const;

/** Rows of a GPUs at most (a larger table is not nvidia-smi's answer to our query). */
const CSV_ROWS_MAX = 1_024;

/**
 * `--format=csv` output: a header row naming each field (with its unit in brackets, "memory.total
 * [MiB]") and one row a GPU (or a sample, with -lms). Values never hold commas for the fields we
 * ask (names, uuids, bus ids, figures), so a split on ", " is exact. Rows as field -> text.
 */
export function parseQueryGpuCsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  if (lines.length - 1 > CSV_ROWS_MAX) throw new HardwareError('REPORT_UNREADABLE', `nvidia-smi --query-gpu printed ${lines.length - 1} rows (at most ${CSV_ROWS_MAX})`);
  const header = lines[0].split(',').map((h) => h.trim().replace(/\s*\[.*\]$/, ''));
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) {
      throw new HardwareError('REPORT_UNREADABLE', `nvidia-smi --query-gpu row ${i + 1} has ${cells.length} fields; its header names ${header.length}`);
    }
    return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
  });
}

/** A CSV row's live figures (a column the query did not ask for is null). */
export function liveOfCsvRow(row: Record<string, string>): GpuLive {
  return {
    utilizationPct: figureOf(row['utilization.gpu']),
    memoryUsedMiB: figureOf(row['memory.used']),
    powerDrawW: figureOf(row['power.draw']),
    powerLimitW: figureOf(row['power.limit']),
    temperatureC: figureOf(row['temperature.gpu']),
  };
}

/** A CSV row as one GPU's heartbeat telemetry. */
export function telemetryOfCsvRow(row: Record<string, string>): GpuTelemetry {
  const index = figureOf(row['index']);
  if (index === null) throw new HardwareError('REPORT_UNREADABLE', 'nvidia-smi --query-gpu row without an index');
  return { index, ...liveOfCsvRow(row) };
}

// ------------------------------------------------------------------ nvidia-smi conf-compute -f

/** "CC status: OFF" -> off; anything else unreadable -> unknown. */
export function parseConfComputeStatus(text: string): ConfidentialComputeMode {
  const m = /CC\s+status\s*:\s*(ON|OFF)/i.exec(text);
  return m ? (m[1].toUpperCase() === 'ON' ? 'on' : 'off') : 'unknown';
}

// ------------------------------------------------------------------ the report

/**
 * The XML report and the CSV query merged (by UUID, else by index), with confidential computing
 * from `conf-compute -f` when it answered, else from the XML's CC-protected memory (present only
 * while CC is on).
 */
export function hardwareReportOf(xmlText: string, csvText: string, confComputeText: string | null): HardwareReport {
  const fromXml = parseNvidiaSmiXml(xmlText);
  const rows = parseQueryGpuCsv(csvText);
  const gpus = fromXml.gpus.map((g) => {
    const row = rows.find((r) => r['uuid'] && r['uuid'] === g.uuid) ?? rows.find((r) => figureOf(r['index']) === g.index);
    if (!row) return g;
    const cap = row['compute_cap'];
    return { ...g, computeCapability: cap && !NOT_AVAILABLE.test(cap) ? cap : null, live: liveOfCsvRow(row) };
  });
  const fromCommand = confComputeText === null ? 'unknown' : parseConfComputeStatus(confComputeText);
  const confidentialCompute = fromCommand !== 'unknown' ? fromCommand : fromXml.ccProtectedMemoryMiB > 0 ? 'on' : 'unknown';
  return { driverVersion: fromXml.driverVersion, cudaVersion: fromXml.cudaVersion, gpus, confidentialCompute };
}

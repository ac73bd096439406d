import { execFile } from 'node:child_process';
import { GPU_MODELS, gpuModelOfProductName } from '@starminer/domain';
import { LIMITS, type NodeTelemetry } from '@starminer/events';
import { hardwareReportOf, HardwareError, parseQueryGpuCsv, QUERY_GPU_FIELDS, TELEMETRY_FIELDS, telemetryOfCsvRow, type HardwareReport } from './nvidia-smi';

/** How long one nvidia-smi call may take (a hung driver must not hang the agent's start or its heartbeats). */
export const NVIDIA_SMI_TIMEOUT_MS = 10_000;
/** The most one nvidia-smi call may print: a full -q -x report is about 27 KB a GPU, so 16 GPUs fit with room. */
export const NVIDIA_SMI_OUTPUT_BYTES_MAX = 2 * 1024 * 1024;

/** Runs `nvidia-smi` with arguments and answers what it printed (a port: specs answer with fixture text). */
export interface NvidiaSmi {
  run(args: readonly string[]): Promise<string>;
}

/** The real nvidia-smi, through execFile (no shell), with a timeout and bounded output. */
export function execNvidiaSmi(path = 'nvidia-smi', timeoutMs = NVIDIA_SMI_TIMEOUT_MS, maxBuffer = NVIDIA_SMI_OUTPUT_BYTES_MAX): NvidiaSmi {
  return {
    run: (args) =>
      new Promise((resolve, reject) => {
        execFile(path, [...args], { timeout: timeoutMs, maxBuffer, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT') return reject(new HardwareError('NO_GPU', `${path} was not found: no NVIDIA driver on this host`, { cause: err }));
          const why = e.killed ? `timed out after ${timeoutMs} ms` : (stderr || stdout || e.message).trim().split('\n')[0];
          reject(new HardwareError('NVIDIA_SMI_FAILED', `${path} ${args.join(' ')} failed: ${why}`, { cause: err }));
        });
      }),
  };
}

/** nvidia-smi's device report, its CSV query and (when the driver has it) the confidential-computing status, merged. */
export async function detectHardware(smi: NvidiaSmi): Promise<HardwareReport> {
  const xmlText = await smi.run(['-q', '-x']);
  const csvText = await smi.run([`--query-gpu=${QUERY_GPU_FIELDS.join(',')}`, '--format=csv']);
  // older drivers and GPUs without CC have no conf-compute subcommand: then the XML decides
  const ccText = await smi.run(['conf-compute', '-f']).catch(() => null);
  return hardwareReportOf(xmlText, csvText, ccText);
}

/** The node the hardware is, in the catalogue's terms. */
export interface DetectedProfile {
  gpuModel: string;
  productName: string;
  gpuCount: number;
  /** the smallest GPU's memory as the driver reports it (a little under the nominal: the driver keeps some) */
  vramMiB: number;
  /** confidential computing on */
  tee: boolean;
}

/**
 * The report as one node: every GPU one catalogue model (a node is one model), at most
 * LIMITS.gpusPerNodeMax of them. Errors name the product the catalogue lacks.
 */
export function detectedProfileOf(report: HardwareReport): DetectedProfile {
  if (report.gpus.length === 0) throw new HardwareError('NO_GPU', 'nvidia-smi lists no GPU on this host');
  const names = [...new Set(report.gpus.map((g) => g.productName))];
  const models = names.map((name) => {
    const model = gpuModelOfProductName(name);
    if (!model) throw new HardwareError('UNKNOWN_GPU_MODEL', `the GPU '${name}' is not in the market's GPU catalogue (known: ${Object.keys(GPU_MODELS).join(', ')})`);
    return model;
  });
  if (new Set(models).size > 1) throw new HardwareError('MIXED_GPU_MODELS', `one node is one GPU model; this host has ${names.join(' and ')}: register one node per model`);
  if (report.gpus.length > LIMITS.gpusPerNodeMax) {
    throw new HardwareError('TOO_MANY_GPUS', `this host has ${report.gpus.length} GPUs; a node has at most ${LIMITS.gpusPerNodeMax}`);
  }
  return {
    gpuModel: models[0],
    productName: names[0],
    gpuCount: report.gpus.length,
    vramMiB: Math.min(...report.gpus.map((g) => g.memoryTotalMiB)),
    tee: report.confidentialCompute === 'on',
  };
}

/** One heartbeat's telemetry: the live figures of every GPU, now. */
export async function sampleTelemetry(smi: NvidiaSmi, now: () => Date = () => new Date()): Promise<NodeTelemetry> {
  const rows = parseQueryGpuCsv(await smi.run([`--query-gpu=${TELEMETRY_FIELDS.join(',')}`, '--format=csv']));
  if (rows.length === 0) throw new HardwareError('NO_GPU', 'nvidia-smi lists no GPU on this host');
  return { sampledAt: now().toISOString(), gpus: rows.slice(0, LIMITS.gpusPerNodeMax).map(telemetryOfCsvRow) };
}

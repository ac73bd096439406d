import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTelemetrySchema } from '@starminer/events';
import { detectedProfileOf, detectHardware, sampleTelemetry, type NvidiaSmi } from './detect';
import { figureOf, hardwareReportOf, HardwareError, parseConfComputeStatus, parseNvidiaSmiXml, parseQueryGpuCsv, telemetryOfCsvRow } from './nvidia-smi';
import { hardwareAtStart, profileDifferences, type DeclaredProfile } from './profile';

/** Real output of one NVIDIA H200 host (../shared/data/gpu/README.md): read in place, never copied into the repo. */
const repoRoot = join(__dirname, '../../../..');
const GPU_DATA = join(repoRoot, '..', 'shared', 'data', 'gpu');
const fixture = (name: string): string => readFileSync(join(GPU_DATA, name), 'utf8');

const XML = fixture('h200-nvidia-smi-q.xml');
const XML_UNDER_LOAD = fixture('h200-nvidia-smi-q-under-load.xml');
const CSV = fixture('h200-query-gpu.csv');
const TELEMETRY_CSV = fixture('h200-telemetry-under-load.csv');
const CONF_COMPUTE = fixture('h200-conf-compute.txt');

/** nvidia-smi as the H200 host answers, from its captured output; `over` replaces an answer (an Error is thrown, as execNvidiaSmi would). */
function smiOf(over: { xml?: string; csv?: string; cc?: string | Error; all?: Error } = {}): NvidiaSmi & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (args) => {
      calls.push([...args]);
      if (over.all) throw over.all;
      if (args[0] === '-q') return over.xml ?? XML;
      if (args[0] === 'conf-compute') {
        if (over.cc instanceof Error) throw over.cc;
        return over.cc ?? CONF_COMPUTE;
      }
      if (args[0].startsWith('--query-gpu=')) return over.csv ?? CSV;
      throw new Error(`unexpected nvidia-smi ${args.join(' ')}`);
    },
  };
}

const H200_DECLARED: DeclaredProfile = { GPU_MODEL: 'H200', GPU_COUNT: 1, VRAM_GIB: 141, TEE: false };

const withAttached = (xml: string, n: number): string => xml.replace('<attached_gpus>1</attached_gpus>', `<attached_gpus>${n}</attached_gpus>`);

/** The H200 report with its one GPU repeated `n` times (another index, uuid and bus id each), and `product` where given. */
function xmlWithGpus(n: number, product?: (i: number) => string): string {
  const start = XML.indexOf('<gpu id=');
  const end = XML.indexOf('</gpu>') + '</gpu>'.length;
  const gpu = XML.slice(start, end);
  const gpus = Array.from({ length: n }, (_, i) =>
    gpu
      .replace('00000000:00:06.0', `00000000:00:0${i}.0`)
      .replace('<minor_number>0</minor_number>', `<minor_number>${i}</minor_number>`)
      .replace('GPU-00000000-0000-0000-0000-000000000000', `GPU-00000000-0000-0000-0000-00000000000${i}`)
      .replace('<product_name>NVIDIA H200</product_name>', `<product_name>${product?.(i) ?? 'NVIDIA H200'}</product_name>`),
  );
  return withAttached(XML.slice(0, start) + gpus.join('\n') + XML.slice(end), n);
}

describe('nvidia-smi -q -x on the H200', () => {
  it('reads the driver, CUDA, the product, its memory, MIG mode and live figures (idle)', () => {
    const r = parseNvidiaSmiXml(XML);
    expect(r).toMatchObject({ driverVersion: '580.159.04', cudaVersion: '13.0', ccProtectedMemoryMiB: 0 });
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]).toMatchObject({
      index: 0,
      productName: 'NVIDIA H200',
      architecture: 'Hopper',
      uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      pciBusId: '00000000:00:06.0',
      memoryTotalMiB: 143771,
      computeCapability: null, // the XML has none: the CSV query's
      mig: { current: 'disabled', pending: 'disabled' },
    });
    expect(r.gpus[0].live.powerLimitW).toBe(700);
    expect(r.gpus[0].live.utilizationPct).toBe(0);
  });

  it('reads the report under a bf16 matmul load: 99 %, 1011 MiB used, about 677 W of 700 W, 54 °C', () => {
    const g = parseNvidiaSmiXml(XML_UNDER_LOAD).gpus[0];
    expect(g.live).toEqual({ utilizationPct: 99, memoryUsedMiB: 1011, powerDrawW: 677.08, powerLimitW: 700, temperatureC: 54 });
  });

  it('refuses what is not the report, naming why', () => {
    expect(() => parseNvidiaSmiXml('<html></html>')).toThrow(/no <nvidia_smi_log>/);
    expect(() => parseNvidiaSmiXml(XML.replace('<total>143771 MiB</total>', '<total>lots</total>'))).toThrow(HardwareError);
    expect(() => parseNvidiaSmiXml(withAttached(XML, 2))).toThrow(/2 GPU\(s\) attached but describes 1/);
  });

  it('reads MIG enabled and a pending change', () => {
    const mig = XML.replace('<current_mig>Disabled</current_mig>', '<current_mig>Enabled</current_mig>').replace('<pending_mig>Disabled</pending_mig>', '<pending_mig>Enabled</pending_mig>');
    expect(parseNvidiaSmiXml(mig).gpus[0].mig).toEqual({ current: 'enabled', pending: 'enabled' });
    expect(parseNvidiaSmiXml(XML.replace(/<mig_mode>[\s\S]*?<\/mig_mode>/, '<mig_mode><current_mig>N/A</current_mig><pending_mig>N/A</pending_mig></mig_mode>')).gpus[0].mig).toEqual({
      current: 'unsupported',
      pending: 'unsupported',
    });
  });
});

describe('nvidia-smi --query-gpu --format=csv', () => {
  it('reads the H200 query: figures without units, compute capability 9.0', () => {
    const rows = parseQueryGpuCsv(CSV);
    expect(rows).toEqual([
      expect.objectContaining({ index: '0', name: 'NVIDIA H200', 'memory.total': '143771 MiB', 'power.draw': '102.12 W', 'power.limit': '700.00 W', compute_cap: '9.0', driver_version: '580.159.04' }),
    ]);
    expect(telemetryOfCsvRow(rows[0])).toEqual({ index: 0, utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 102.12, powerLimitW: 700, temperatureC: 43 });
  });

  it('reads the telemetry captured under load, sample by sample: 0 % to 100 %, 78 W to 692 W, every sample a valid heartbeat telemetry', () => {
    const rows = parseQueryGpuCsv(TELEMETRY_CSV);
    expect(rows).toHaveLength(19);
    const samples = rows.map(telemetryOfCsvRow);
    expect(samples[0]).toEqual({ index: 0, utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 78.23, powerLimitW: null, temperatureC: 32 });
    expect(samples.at(-1)).toEqual({ index: 0, utilizationPct: 100, memoryUsedMiB: 1011, powerDrawW: 691.56, powerLimitW: null, temperatureC: 55 });
    expect(Math.max(...samples.map((s) => s.powerDrawW!))).toBeGreaterThan(690);
    for (const [i, s] of samples.entries()) expect(nodeTelemetrySchema.safeParse({ sampledAt: new Date(Date.UTC(2026, 10, 27, 17, 6, 47) + i * 500).toISOString(), gpus: [s] }).success).toBe(true);
  });

  it('reads N/A as null and refuses a row that does not fit its header', () => {
    expect(figureOf('[N/A]')).toBeNull();
    expect(figureOf('[Not Supported]')).toBeNull();
    expect(telemetryOfCsvRow(parseQueryGpuCsv('index, power.draw [W], temperature.gpu\n0, [N/A], 40\n')[0])).toMatchObject({ powerDrawW: null, temperatureC: 40 });
    expect(() => parseQueryGpuCsv('index, name\n0, NVIDIA H200, extra\n')).toThrow(/row 1 has 3 fields; its header names 2/);
  });
});

describe('confidential computing', () => {
  it('reads the H200 host off, and on', () => {
    expect(parseConfComputeStatus(CONF_COMPUTE)).toBe('off');
    expect(parseConfComputeStatus('CC status: ON\n')).toBe('on');
    expect(parseConfComputeStatus('Invalid combination of input arguments')).toBe('unknown');
  });

  it('without the conf-compute command, the XML decides: CC-protected memory means on, none means unknown', () => {
    expect(hardwareReportOf(XML, CSV, null).confidentialCompute).toBe('unknown');
    const cc = XML.replace(/<cc_protected_memory_usage>\s*<total>0 MiB<\/total>/, '<cc_protected_memory_usage><total>131072 MiB</total>');
    expect(hardwareReportOf(cc, CSV, null).confidentialCompute).toBe('on');
  });
});

describe('detection', () => {
  it('on the H200 host: one H200 of 143771 MiB, compute capability 9.0, MIG off, CC off', async () => {
    const smi = smiOf();
    const report = await detectHardware(smi);
    expect(report).toMatchObject({ driverVersion: '580.159.04', cudaVersion: '13.0', confidentialCompute: 'off' });
    expect(report.gpus[0]).toMatchObject({ productName: 'NVIDIA H200', memoryTotalMiB: 143771, computeCapability: '9.0', mig: { current: 'disabled' } });
    expect(report.gpus[0].live).toEqual({ utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 102.12, powerLimitW: 700, temperatureC: 43 });
    expect(detectedProfileOf(report)).toEqual({ gpuModel: 'H200', productName: 'NVIDIA H200', gpuCount: 1, vramMiB: 143771, tee: false });
    expect(smi.calls.map((c) => c[0])).toEqual(['-q', expect.stringMatching(/^--query-gpu=index,name,uuid,memory.total,/), 'conf-compute']);
  });

  it('a driver without conf-compute still detects (CC unknown, so not a TEE)', async () => {
    const report = await detectHardware(smiOf({ cc: new HardwareError('NVIDIA_SMI_FAILED', 'Invalid combination of input arguments') }));
    expect(report.confidentialCompute).toBe('unknown');
    expect(detectedProfileOf(report).tee).toBe(false);
  });

  it('a model the catalogue lacks is an error naming the product', async () => {
    const report = await detectHardware(smiOf({ xml: XML.replace('<product_name>NVIDIA H200</product_name>', '<product_name>NVIDIA B200</product_name>') }));
    expect(() => detectedProfileOf(report)).toThrow(expect.objectContaining({ code: 'UNKNOWN_GPU_MODEL', message: expect.stringContaining("'NVIDIA B200' is not in the market's GPU catalogue") }));
  });

  it('two models on one host are refused (a node is one model); eight H200s are one node of 8', async () => {
    const mixed = xmlWithGpus(2, (i) => (i === 0 ? 'NVIDIA H200' : 'NVIDIA H100 80GB HBM3'));
    expect(() => detectedProfileOf(hardwareReportOf(mixed, CSV, null))).toThrow(expect.objectContaining({ code: 'MIXED_GPU_MODELS' }));
    const eight = xmlWithGpus(8);
    expect(detectedProfileOf(hardwareReportOf(eight, CSV, 'CC status: OFF'))).toMatchObject({ gpuModel: 'H200', gpuCount: 8 });
  });

  it('a heartbeat sample: every GPU, as the heartbeat schema takes it', async () => {
    const t = await sampleTelemetry(smiOf(), () => new Date('2026-11-27T17:06:50.000Z'));
    expect(t).toEqual({ sampledAt: '2026-11-27T17:06:50.000Z', gpus: [{ index: 0, utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 102.12, powerLimitW: 700, temperatureC: 43 }] });
    expect(nodeTelemetrySchema.parse(t)).toEqual(t);
  });
});

describe('the declared profile against the hardware', () => {
  it('the H200 host as declared (141 GiB nominal, 140.4 GiB reported) starts with its GPUs', async () => {
    const hw = await hardwareAtStart({ ...H200_DECLARED, AGENT_CPU_ONLY: false }, smiOf());
    expect(hw).toMatchObject({ mode: 'gpu', profile: { gpuModel: 'H200', gpuCount: 1 } });
  });

  it.each<[string, Partial<DeclaredProfile>, RegExp]>([
    ['another model', { GPU_MODEL: 'H100', VRAM_GIB: 80 }, /GPU_MODEL is H100 but the GPUs are H200 \('NVIDIA H200'\); VRAM_GIB is 80 but each GPU has 140\.4 GiB \(143771 MiB\)/],
    ['more GPUs', { GPU_COUNT: 8 }, /GPU_COUNT is 8 but nvidia-smi lists 1 GPU\(s\)/],
    ['less VRAM', { VRAM_GIB: 96 }, /VRAM_GIB is 96 but each GPU has 140\.4 GiB/],
    ['a TEE', { TEE: true }, /TEE is true but confidential computing is not on/],
  ])('declaring %s refuses to start, naming the difference', async (_what, over, message) => {
    const err = await hardwareAtStart({ ...H200_DECLARED, ...over, AGENT_CPU_ONLY: false }, smiOf()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HardwareError);
    expect(err).toMatchObject({ code: 'PROFILE_MISMATCH', message: expect.stringMatching(message) });
  });

  it('agrees within the VRAM tolerance only', () => {
    const found = { gpuModel: 'H200', productName: 'NVIDIA H200', gpuCount: 1, vramMiB: 143771, tee: false };
    expect(profileDifferences(H200_DECLARED, found)).toEqual([]);
    expect(profileDifferences({ ...H200_DECLARED, VRAM_GIB: 139 }, found)).toEqual([]);
    expect(profileDifferences({ ...H200_DECLARED, VRAM_GIB: 138 }, found)).toHaveLength(1);
  });

  it('with no nvidia-smi (no driver) the agent refuses to start unless told to run CPU-only', async () => {
    const noDriver = smiOf({ all: new HardwareError('NO_GPU', 'nvidia-smi was not found: no NVIDIA driver on this host') });
    await expect(hardwareAtStart({ ...H200_DECLARED, AGENT_CPU_ONLY: false }, noDriver)).rejects.toMatchObject({
      code: 'NO_GPU',
      message: expect.stringMatching(/nvidia-smi was not found.*set AGENT_CPU_ONLY=true/),
    });
    await expect(hardwareAtStart({ ...H200_DECLARED, AGENT_CPU_ONLY: true }, noDriver)).resolves.toEqual({ mode: 'cpu-only' });
    expect(noDriver.calls).toHaveLength(1); // CPU-only detects nothing
  });

  it('a driver that cannot reach its GPU, or lists none, refuses the same way', async () => {
    const failing = smiOf({ all: new HardwareError('NVIDIA_SMI_FAILED', "nvidia-smi -q -x failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver") });
    await expect(hardwareAtStart({ ...H200_DECLARED, AGENT_CPU_ONLY: false }, failing)).rejects.toMatchObject({ code: 'NO_GPU', message: expect.stringContaining("couldn't communicate") });
    const none = XML.slice(0, XML.indexOf('<gpu id=')) + '</nvidia_smi_log>\n';
    await expect(hardwareAtStart({ ...H200_DECLARED, AGENT_CPU_ONLY: false }, smiOf({ xml: withAttached(none, 0) }))).rejects.toMatchObject({ code: 'NO_GPU', message: expect.stringContaining('AGENT_CPU_ONLY') });
  });
});

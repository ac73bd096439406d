import { execFile } from 'node:child_process';
import { z } from 'zod';
import type { BenchmarkFigure } from '../benchmark';
import { HardwareError } from './nvidia-smi';

/** The precisions the benchmark measures; the registered figure is the first (dense bf16, what training and inference run). */
export const GPU_BENCHMARK_PRECISIONS = ['bf16', 'fp16', 'tf32', 'fp32'] as const;
export type GpuPrecision = (typeof GPU_BENCHMARK_PRECISIONS)[number];
/** How long the benchmark may run: about 5 s on an H200, much longer only on a slow or shared GPU. */
export const GPU_BENCHMARK_TIMEOUT_MS = 120_000;
/** Its output is one JSON line of a few hundred bytes. */
const GPU_BENCHMARK_OUTPUT_BYTES_MAX = 64 * 1024;

/**
 * Dense matrix throughput (8192^3 matmuls, 20 timed after 3 warm-up, per precision) and device
 * memory copy bandwidth, with PyTorch on GPU 0; one JSON line out. Run with `python -c`, so the
 * agent needs no file beside its code. Modelled on the run in ../shared/data/gpu/h200-torch-bench.py.
 */
export const GPU_BENCHMARK_SCRIPT = `
import json, time, torch
d = 'cuda'
out = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'cuda': torch.version.cuda}
n, k = 8192, 20
for dt, name in [(torch.bfloat16, 'bf16'), (torch.float16, 'fp16'), (torch.float32, 'tf32'), (torch.float32, 'fp32')]:
    torch.backends.cuda.matmul.allow_tf32 = (name == 'tf32')
    a = torch.randn(n, n, device=d, dtype=dt); b = torch.randn(n, n, device=d, dtype=dt)
    for _ in range(3): a @ b
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(k): a @ b
    torch.cuda.synchronize(); s = time.perf_counter() - t
    out[name + '_tflops'] = round(2 * n ** 3 * k / s / 1e12, 1)
    del a, b
torch.backends.cuda.matmul.allow_tf32 = False
src = torch.empty(2 ** 30, dtype=torch.uint8, device=d)
torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(10): dst = src.clone()
torch.cuda.synchronize()
out['hbm_copy_GBps'] = round(2 * 10 * 2 ** 30 / (time.perf_counter() - t) / 1e9)
print(json.dumps(out))
`;

const tflops = z.number().positive().max(1e6);
/** The script's line (and the fixture h200-torch-bench.json, which has no versions and a few more research fields). */
export const gpuBenchmarkOutputSchema = z.looseObject({
  device: z.string().min(1).max(200),
  torch: z.string().min(1).max(60).optional(),
  cuda: z.string().min(1).max(30).nullable().optional(),
  bf16_tflops: tflops,
  fp16_tflops: tflops,
  tf32_tflops: tflops,
  fp32_tflops: tflops,
  hbm_copy_GBps: z.number().positive().max(1e6),
});
export type GpuBenchmarkOutput = z.output<typeof gpuBenchmarkOutputSchema>;

export interface GpuBenchmark {
  /** what the node registers: bf16 TFLOPS, its kind naming the precision, the tool and its version */
  figure: BenchmarkFigure;
  device: string;
  tflops: Record<GpuPrecision, number>;
  memoryCopyGBps: number;
}

/** The benchmark's JSON line as the figure the node registers (kind `gpu-matmul-tflops-bf16`). */
export function gpuBenchmarkOf(stdout: string, measuredAt: Date): GpuBenchmark {
  // the script prints one line (after any warnings a library wrote to stdout); a saved run may be pretty-printed
  const text = stdout.trim();
  const line = text.split('\n').at(-1) ?? '';
  let json: unknown;
  try {
    json = text.startsWith('{') ? JSON.parse(text) : JSON.parse(line);
  } catch (err) {
    throw new HardwareError('REPORT_UNREADABLE', `the GPU benchmark printed no JSON line: ${line.slice(0, 200)}`, { cause: err });
  }
  const parsed = gpuBenchmarkOutputSchema.safeParse(json);
  if (!parsed.success) throw new HardwareError('REPORT_UNREADABLE', `the GPU benchmark's answer does not fit: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const tflops = Object.fromEntries(GPU_BENCHMARK_PRECISIONS.map((p) => [p, o[`${p}_tflops`]])) as Record<GpuPrecision, number>;
  const precision = GPU_BENCHMARK_PRECISIONS[0];
  const tool = o.torch ? `starminer-gpu-bench/1 torch ${o.torch}${o.cuda ? ` cuda ${o.cuda}` : ''}` : 'starminer-gpu-bench/1';
  return {
    figure: { kind: `gpu-matmul-tflops-${precision}`, score: tflops[precision], measuredAt: measuredAt.toISOString(), tool },
    device: o.device,
    tflops,
    memoryCopyGBps: o.hbm_copy_GBps,
  };
}

/** Runs the benchmark with `python` (which must import torch with CUDA), bounded in time and output. */
export function runGpuBenchmark(python: string, timeoutMs = GPU_BENCHMARK_TIMEOUT_MS, now: () => Date = () => new Date()): Promise<GpuBenchmark> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', GPU_BENCHMARK_SCRIPT], { timeout: timeoutMs, maxBuffer: GPU_BENCHMARK_OUTPUT_BYTES_MAX, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as { killed?: boolean }).killed ? `timed out after ${timeoutMs} ms` : (stderr || err.message).trim().split('\n').at(-1);
        return reject(new HardwareError('BENCHMARK_FAILED', `the GPU benchmark (${python}) failed: ${why}`, { cause: err }));
      }
      try {
        resolve(gpuBenchmarkOf(stdout, now()));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

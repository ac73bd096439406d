import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchmarkSchema } from '@starminer/events';
import { gpuBenchmarkOf, runGpuBenchmark } from './gpu-benchmark';

/** The H200 run (../shared/data/gpu/h200-torch-bench.json, PyTorch 2.11 + CUDA 13.0): read in place. */
const repoRoot = join(__dirname, '../../../..');
const H200_BENCH = readFileSync(join(repoRoot, '..', 'shared', 'data', 'gpu', 'h200-torch-bench.json'), 'utf8');
const AT = new Date('2026-11-27T17:10:00.000Z');

describe('the GPU benchmark', () => {
  it('reads the H200 run as the registered figure: 791.2 bf16 TFLOPS, its kind naming the precision, a valid benchmark of the catalogue', () => {
    const b = gpuBenchmarkOf(H200_BENCH, AT);
    expect(b).toEqual({
      figure: { kind: 'gpu-matmul-tflops-bf16', score: 791.2, measuredAt: '2026-11-27T17:10:00.000Z', tool: 'starminer-gpu-bench/1' },
      device: 'NVIDIA H200',
      tflops: { bf16: 791.2, fp16: 762.1, tf32: 383.1, fp32: 50.8 },
      memoryCopyGBps: 3738,
    });
    expect(benchmarkSchema.parse(b.figure)).toEqual(b.figure);
  });

  it("names torch's and CUDA's versions as the tool when the script reports them (its own output, the last line)", () => {
    const line = JSON.stringify({ ...JSON.parse(H200_BENCH), torch: '2.11.0+cu130', cuda: '13.0' });
    expect(gpuBenchmarkOf(`some warning\n${line}\n`, AT).figure.tool).toBe('starminer-gpu-bench/1 torch 2.11.0+cu130 cuda 13.0');
  });

  it('refuses an answer that is not the benchmark, naming why', () => {
    expect(() => gpuBenchmarkOf('Traceback (most recent call last):', AT)).toThrow(expect.objectContaining({ code: 'REPORT_UNREADABLE', message: expect.stringContaining('no JSON line') }));
    expect(() => gpuBenchmarkOf(JSON.stringify({ device: 'NVIDIA H200', bf16_tflops: -1 }), AT)).toThrow(expect.objectContaining({ code: 'REPORT_UNREADABLE', message: expect.stringContaining('bf16_tflops') }));
  });

  it('without a runtime for it (no such python), the run fails with BENCHMARK_FAILED: the agent then registers its CPU figure', async () => {
    await expect(runGpuBenchmark('/nonexistent/python3', 5_000)).rejects.toMatchObject({ code: 'BENCHMARK_FAILED', message: expect.stringContaining('/nonexistent/python3') });
  });
});

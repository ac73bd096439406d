import { signResult } from '@starminer/chain';
import { createProviderClient, type NodeRegistration } from '@starminer/sdk/provider';
import { startTracing, tracedFetch } from '@starminer/telemetry';
import { AGENT_SERVICE, ProviderAgent, type Clock, type LogFn } from './agent';
import { commandAttestation } from './attestation/command-attestation';
import { measureHashRate, type BenchmarkFigure } from './benchmark';
import { loadAgentConfig, type AgentConfig } from './config';
import { detectContainerEngine, execContainerEngine, type ContainerEngineCli, type ContainerEngineKind, type ContainerRuntime } from './containers/engine';
import { execNvidiaSmi, sampleTelemetry } from './hardware/detect';
import { runGpuBenchmark } from './hardware/gpu-benchmark';
import { hardwareAtStart, type HardwareAtStart } from './hardware/profile';
import { fileJournal } from './journal';
import { loadOrCreateNodeKey } from './key';
import { agentLogger, BOOT_LOG_SETTINGS, logFnOf } from './logging';
import { runWorkload, runsLong } from './runtime';

/** A stop that takes longer than this (a long workload) is cut short. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** The node's id follows from its key, so a restarted agent is the same node. */
export const nodeIdFor = (address: string): string => `node-${address.slice(2).toLowerCase()}`;

/** `container` only when the provider turned the container runtime on and the agent found an engine (containerRuntimeAtStart). */
export function registrationFor(config: AgentConfig, address: string, benchmark: NodeRegistration['benchmark'], container = false): NodeRegistration {
  return {
    nodeId: nodeIdFor(address),
    providerId: config.AGENT_NAME,
    gpuModel: config.GPU_MODEL,
    gpuCount: config.GPU_COUNT,
    vramGiB: config.VRAM_GIB,
    region: config.REGION,
    latencyMs: config.LATENCY_MS,
    tee: config.TEE,
    energy: { carbonGPerKwh: config.CARBON_G_PER_KWH, renewableShare: config.RENEWABLE_SHARE },
    benchmark,
    stakeWei: '0',
    runtimes: [...(['hash-chain', 'matmul'] as const), ...(config.ENABLE_COMMAND_RUNTIME ? (['command'] as const) : []), ...(container ? (['container'] as const) : [])],
  };
}

/**
 * The container runtime (issue 17), when the provider turned it on (ENABLE_CONTAINER_RUNTIME):
 * the engine CONTAINER_ENGINE names (`auto`: Docker, then Podman) if `<engine> version` answers,
 * with the configured limits and, on a node with GPUs, the GPUs passed through. Logs what it found;
 * undefined (and no `container` registered) when off or when no engine answers.
 */
export async function containerRuntimeAtStart(
  config: AgentConfig,
  hardware: Pick<HardwareAtStart, 'mode'>,
  log: LogFn,
  cliFor: (engine: ContainerEngineKind) => ContainerEngineCli = (engine) => execContainerEngine(config.CONTAINER_ENGINE_PATH ?? engine),
): Promise<ContainerRuntime | undefined> {
  if (!config.ENABLE_CONTAINER_RUNTIME) return undefined;
  const detection = await detectContainerEngine(config.CONTAINER_ENGINE, cliFor);
  if (!detection.found) {
    log('warn', 'no container engine found: workloads with an image are not taken here (the container runtime is not registered)', { engine: config.CONTAINER_ENGINE, reasons: detection.reasons });
    return undefined;
  }
  const { engine, version, apiVersion } = detection.found;
  const runtime: ContainerRuntime = {
    engine,
    path: config.CONTAINER_ENGINE_PATH ?? engine,
    limits: { memoryMiB: config.CONTAINER_MEMORY_MIB, cpus: config.CONTAINER_CPUS, pidsMax: config.CONTAINER_PIDS_MAX },
    gpus: hardware.mode === 'gpu',
  };
  log('info', 'container engine found: workloads with an image run in containers', { engine, version, apiVersion, gpus: runtime.gpus, ...runtime.limits });
  return runtime;
}

/**
 * The node's benchmark: with GPUs, dense matmul TFLOPS measured with torch (GPU_BENCHMARK_PYTHON);
 * where that runtime is missing or fails, and CPU-only, the CPU hash rate as before.
 */
export async function measureBenchmark(config: AgentConfig, hardware: HardwareAtStart, log: LogFn): Promise<BenchmarkFigure> {
  if (hardware.mode === 'gpu') {
    try {
      const gpu = await runGpuBenchmark(config.GPU_BENCHMARK_PYTHON);
      log('info', 'GPU benchmark', { kind: gpu.figure.kind, score: gpu.figure.score, tool: gpu.figure.tool, device: gpu.device, tflops: gpu.tflops, memoryCopyGBps: gpu.memoryCopyGBps });
      return gpu.figure;
    } catch (err) {
      log('warn', 'GPU benchmark unavailable; registering the CPU figure', { code: (err as { code?: string }).code, message: (err as Error).message });
    }
  }
  const cpu = measureHashRate(config.BENCHMARK_MS);
  log('info', 'benchmark', { kind: cpu.kind, hashesPerSec: cpu.score });
  return cpu;
}

async function main(): Promise<void> {
  const config = loadAgentConfig();
  // off unless OTEL_* ask for it; on, each run of a job is a span of the job's trace
  const tracing = startTracing({ service: AGENT_SERVICE });
  const log = logFnOf(agentLogger(config));
  const smi = execNvidiaSmi(config.NVIDIA_SMI_PATH);
  // refuses to start without GPUs (unless AGENT_CPU_ONLY) or when they disagree with the declared profile
  const hardware = await hardwareAtStart(config, smi);
  if (hardware.mode === 'gpu') {
    const { report, profile } = hardware;
    log('info', 'GPUs detected', {
      model: profile.gpuModel, product: profile.productName, count: profile.gpuCount, vramMiB: profile.vramMiB, driver: report.driverVersion, cuda: report.cudaVersion,
      computeCapability: report.gpus[0]?.computeCapability, mig: report.gpus.map((g) => g.mig.current), confidentialCompute: report.confidentialCompute,
    });
  } else {
    log('info', 'CPU-only (AGENT_CPU_ONLY): no GPU detected or checked; registering the declared profile');
  }
  // after the hardware check: a host refused at start is left without a node key
  const { account, created } = loadOrCreateNodeKey(config.AGENT_KEY_FILE);
  log('info', created ? 'created a node key' : 'loaded the node key', { address: account.address, file: config.AGENT_KEY_FILE });
  const benchmark = await measureBenchmark(config, hardware, log);
  const container = await containerRuntimeAtStart(config, hardware, log);

  const agent = new ProviderAgent({
    api: createProviderClient({ baseUrl: config.GATEWAY_URL, chainId: config.CHAIN_ID, account, fetch: tracedFetch(), sessions: config.NODE_SESSIONS }),
    clock: realClock,
    registration: registrationFor(config, account.address, benchmark, container !== undefined),
    commandRuntime: config.ENABLE_COMMAND_RUNTIME,
    container,
    runWorkload: (w, jobId) => runWorkload(w, { commandRuntime: config.ENABLE_COMMAND_RUNTIME, container, jobId, builtInOnWorker: runsLong(w) }),
    signResult: (input) => signResult(account, { addresses: { escrow: input.addresses.escrow }, chainId: input.chainId, jobId: input.jobId, resultHash: input.resultHash, proofHash: input.proofHash }),
    journal: fileJournal(config.AGENT_STATE_FILE ?? `${config.AGENT_KEY_FILE}.done.json`),
    log,
    telemetry: hardware.mode === 'gpu' ? () => sampleTelemetry(smi) : undefined,
    // a TEE node's report, bound to each job's nonce, goes with its result
    attest: config.ATTESTATION_COMMAND ? commandAttestation({ command: config.ATTESTATION_COMMAND, format: config.ATTESTATION_FORMAT, timeoutMs: config.ATTESTATION_TIMEOUT_MS }) : undefined,
  });
  if (config.ATTESTATION_COMMAND) log('info', 'TEE attestation: each result carries a report from ATTESTATION_COMMAND', { command: config.ATTESTATION_COMMAND, format: config.ATTESTATION_FORMAT });
  if (config.ENABLE_COMMAND_RUNTIME) log('warn', 'the command runtime is ON: assigned commands run on this host');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: stopping`);
    const force = setTimeout(() => {
      log('warn', 'stop timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    void agent.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await agent.run();
  await tracing.shutdown();
  log('info', 'stopped');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    logFnOf(agentLogger(BOOT_LOG_SETTINGS))('error', 'provider-agent failed', { message: (err as Error).message, code: (err as { code?: string }).code });
    process.exit(1);
  });
}

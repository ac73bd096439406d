/**
 * Runs one built-in workload off the agent's main thread (see runtime.ts), so a long hash chain
 * does not stop the heartbeats: the registry marks a node silent for 30 s offline.
 * workerData: { workload }; posts back the WorkloadResult.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runBuiltInWorkload } from '@starminer/domain';

parentPort?.postMessage(runBuiltInWorkload((workerData as { workload: Parameters<typeof runBuiltInWorkload>[0] }).workload));

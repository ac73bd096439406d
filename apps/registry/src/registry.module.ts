import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { HeartbeatHandler } from './heartbeat/heartbeat.handler';
import { NodeTelemetrySample } from './heartbeat/node-telemetry.entity';
import { NodeTelemetryStore } from './heartbeat/node-telemetry.store';
import { LivenessScanner } from './liveness/liveness.scanner';
import { NodeLiveness } from './liveness/node-liveness.entity';
import { NodeLivenessStore } from './liveness/node-liveness.store';
import { NodeRow } from './nodes/node-row.entity';
import { NodesProjection } from './nodes/nodes.projection';
import { RegisterNodeHandler } from './register-node/register-node.handler';
import { chainConfigured, registryConfigSchema } from './registry.config';
import { OutcomesConsumer } from './reputation/outcomes.consumer';
import { ChainCursor } from './stake/chain-cursor.entity';
import { StakeWatcher } from './stake/stake.watcher';

/**
 * Providers and nodes: registration (one key, one node), heartbeats and liveness, reputation from
 * settlement outcomes, and stake from the staking contract when a chain is configured (then, and
 * only then, readiness checks the chain: decided here, when the module is defined, from the
 * environment the process started with).
 */
@Module({
  imports: [
    ServiceKitModule.forService({
      service: 'registry',
      config: registryConfigSchema,
      entities: [NodeRow, NodeLiveness, NodeTelemetrySample, ChainCursor],
      chain: chainConfigured,
    }),
  ],
  controllers: [RegisterNodeHandler, HeartbeatHandler],
  providers: [NodesProjection, NodeLivenessStore, NodeTelemetryStore, LivenessScanner, OutcomesConsumer, StakeWatcher],
})
export class RegistryModule {}

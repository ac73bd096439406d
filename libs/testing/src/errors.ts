/** A tool a test needs (nats-server, postgres, a container engine) is missing or would not start. */
export class TestInfraError extends Error {
  override readonly name = 'TestInfraError';
  constructor(
    readonly code:
      | 'NATS_SERVER_MISSING'
      | 'NATS_SERVER_START_FAILED'
      | 'POSTGRES_UNAVAILABLE'
      | 'POSTGRES_START_FAILED'
      | 'TEST_INFRA_SWITCH_INVALID'
      | 'CONTAINER_ENGINE_UNAVAILABLE'
      | 'CONTAINER_START_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

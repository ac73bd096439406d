import { Injectable } from '@nestjs/common';
import { ServiceRuntime } from './runtime';

/** A decorated class whose metadata tells whether the runner emits decorator metadata. */
@Injectable()
export class ServiceRuntimeProbe {
  constructor(readonly rt: ServiceRuntime) {}
}

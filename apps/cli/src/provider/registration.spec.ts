import { UsageError } from '../shared/errors';
import { registrationFromFlags } from './registration';

const address = '0xAbCdEf0123456789abcdef0123456789ABCDEF01';
const benchmark = { kind: 'hash-chain-sha256', score: 1_000_000, measuredAt: '2026-11-24T12:00:00.000Z' };

describe('registrationFromFlags: provider register as the body of POST /v1/providers/nodes', () => {
  it('maps the hardware flags, with the provider agent defaults for the rest', () => {
    expect(registrationFromFlags({ gpu: 'RTX4090', vram: 24, region: 'eu-west' }, address, 'node-abc', benchmark)).toEqual({
      nodeId: 'node-abc',
      providerId: 'provider-abcdef01',
      gpuModel: 'RTX4090',
      gpuCount: 1,
      vramGiB: 24,
      region: 'eu-west',
      latencyMs: 20,
      tee: false,
      energy: { carbonGPerKwh: 300, renewableShare: 0.3 },
      benchmark,
      stakeWei: '0',
      runtimes: ['hash-chain', 'matmul'],
    });
  });

  it('takes every flag that is given', () => {
    const r = registrationFromFlags(
      { gpu: 'H100', vram: 80, region: 'us-east', gpus: 8, latency: 5, tee: true, carbon: 50, renewable: 0.9, runtimes: ['hash-chain,command'], nodeId: 'n-1', providerId: 'acme' },
      address,
      'node-abc',
      benchmark,
    );
    expect(r).toMatchObject({ nodeId: 'n-1', providerId: 'acme', gpuCount: 8, latencyMs: 5, tee: true, energy: { carbonGPerKwh: 50, renewableShare: 0.9 }, runtimes: ['hash-chain', 'command'] });
  });

  it.each([
    ['no GPU model', { vram: 24, region: 'eu-west' }, 'MISSING_FLAG'],
    ['no VRAM', { gpu: 'H100', region: 'eu-west' }, 'MISSING_FLAG'],
    ['no region', { gpu: 'H100', vram: 80 }, 'MISSING_FLAG'],
    ['a fractional GPU count', { gpu: 'H100', vram: 80, region: 'x', gpus: 0.5 }, 'BAD_FLAG'],
    ['an unknown runtime', { gpu: 'H100', vram: 80, region: 'x', runtimes: ['docker'] }, 'BAD_FLAG'],
    ['a carbon figure that is not a number', { gpu: 'H100', vram: 80, region: 'x', carbon: Number.NaN }, 'BAD_FLAG'],
  ])('refuses %s', (_name, flags, code) => {
    let caught: unknown;
    try {
      registrationFromFlags(flags, address, 'node-abc', benchmark);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe(code);
  });
});

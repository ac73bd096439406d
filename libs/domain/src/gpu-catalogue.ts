/**
 * GPU models the exchange knows, with the VRAM of one GPU. Names follow the public rental market
 * catalogue (skypilot/vast) and the Alibaba trace (T4, P100, V100M16/32, G2, G3 undisclosed models).
 */
export const GPU_MODELS: Readonly<Record<string, { vramGiB: number; tier: 'datacenter' | 'workstation' | 'consumer' }>> = {
  H200: { vramGiB: 141, tier: 'datacenter' },
  H100: { vramGiB: 80, tier: 'datacenter' },
  A100: { vramGiB: 80, tier: 'datacenter' },
  A40: { vramGiB: 48, tier: 'datacenter' },
  L40S: { vramGiB: 48, tier: 'datacenter' },
  A10: { vramGiB: 24, tier: 'datacenter' },
  V100: { vramGiB: 32, tier: 'datacenter' },
  V100M32: { vramGiB: 32, tier: 'datacenter' },
  V100M16: { vramGiB: 16, tier: 'datacenter' },
  P100: { vramGiB: 16, tier: 'datacenter' },
  T4: { vramGiB: 16, tier: 'datacenter' },
  G2: { vramGiB: 24, tier: 'datacenter' },
  G3: { vramGiB: 32, tier: 'datacenter' },
  'RTX6000-Ada': { vramGiB: 48, tier: 'workstation' },
  RTXA6000: { vramGiB: 48, tier: 'workstation' },
  RTXA5000: { vramGiB: 24, tier: 'workstation' },
  RTXA4000: { vramGiB: 16, tier: 'workstation' },
  RTX5090: { vramGiB: 32, tier: 'consumer' },
  RTX4090: { vramGiB: 24, tier: 'consumer' },
  RTX4080: { vramGiB: 16, tier: 'consumer' },
  RTX3090: { vramGiB: 24, tier: 'consumer' },
  RTX3060: { vramGiB: 12, tier: 'consumer' },
};

export const isKnownGpuModel = (model: string): boolean => Object.prototype.hasOwnProperty.call(GPU_MODELS, model);

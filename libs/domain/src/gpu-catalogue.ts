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

/**
 * How a driver names each model (`nvidia-smi`'s product name), most specific first: "NVIDIA H100
 * 80GB HBM3", "NVIDIA GeForce RTX 4090", "Tesla V100-SXM2-32GB". Matched against the name upper-cased,
 * with spaces, dashes and underscores dropped, so "H100 PCIe" and "H100-SXM" read alike.
 */
const PRODUCT_NAME_PATTERNS: readonly (readonly [RegExp, string])[] = [
  // GH200 / GH100 are Grace Hopper superchips: not the H200 / H100 the catalogue prices
  [/(?<!G)H200/, 'H200'],
  [/(?<!G)H100/, 'H100'],
  [/A100/, 'A100'],
  [/RTX6000ADA|RTX6000ADAGENERATION/, 'RTX6000-Ada'],
  [/RTXA6000/, 'RTXA6000'],
  [/RTXA5000/, 'RTXA5000'],
  [/RTXA4000/, 'RTXA4000'],
  [/L40S/, 'L40S'],
  [/A40(?!\d)/, 'A40'],
  [/A10(?![0-9G])/, 'A10'],
  [/V100.*32GB/, 'V100M32'],
  [/V100.*16GB/, 'V100M16'],
  [/V100/, 'V100'],
  [/P100/, 'P100'],
  [/(?:^|NVIDIA|TESLA)T4(?!\d)/, 'T4'],
  [/RTX5090/, 'RTX5090'],
  [/RTX4090/, 'RTX4090'],
  [/RTX4080/, 'RTX4080'],
  [/RTX3090/, 'RTX3090'],
  [/RTX3060/, 'RTX3060'],
];

/** The catalogue model a driver's product name is ("NVIDIA H200" -> "H200"), or undefined for one the exchange does not list. */
export function gpuModelOfProductName(productName: string): string | undefined {
  const key = productName.toUpperCase().replace(/[\s_-]+/g, '');
  return PRODUCT_NAME_PATTERNS.find(([pattern]) => pattern.test(key))?.[1];
}

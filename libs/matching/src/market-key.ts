/** A market (GPU class × region) as one map key. */
export const marketKey = (gpuClass: string, region: string): string => `${gpuClass}\u0000${region}`;

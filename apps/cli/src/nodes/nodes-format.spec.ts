import { filterOf, nodesTable } from './nodes-format';

describe('nodes search', () => {
  it('joins the filter words into the one expression the gateway parses', () => {
    expect(filterOf(['gpu=H100', 'vram>=80', 'region in [eu-west,us-east]', ' reputation>0.9 '])).toBe('gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9');
    expect(filterOf([])).toBeUndefined();
    expect(filterOf(undefined)).toBeUndefined();
    expect(filterOf(['', '  '])).toBeUndefined();
  });

  it('prints one row per node', () => {
    const text = nodesTable([
      { nodeId: 'node-a', gpuModel: 'H100', gpuCount: 8, vramGiB: 80, region: 'eu-west', latencyMs: 12, tee: false, reputation: 0.95, benchmarkScore: 1000, online: true, activeJobs: 2, stakeWei: '0' },
    ]);
    expect(text.split('\n')).toEqual([
      'NODE    GPU   GPUS  VRAM    REGION   LATENCY  TEE  REPUTATION  BENCHMARK  ONLINE  ACTIVE  STAKE',
      'node-a  H100  8     80 GiB  eu-west  12 ms    no   0.950       1000       yes     2       0 AGPU',
    ]);
  });
});

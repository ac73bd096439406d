import { DEFAULT_ENGINE_CONFIG, InvalidInputError, MatchingEngine, UnknownGpuModelError, type EngineConfig } from '../src';
import { job, node } from './fixtures';

/** The default price book without T4: a model the exchange once priced and no longer does. */
const withoutT4 = (): EngineConfig => {
  const { T4: _dropped, ...rest } = DEFAULT_ENGINE_CONFIG.pricing.basePricesWeiPerGpuHour;
  return { ...DEFAULT_ENGINE_CONFIG, pricing: { ...DEFAULT_ENGINE_CONFIG.pricing, basePricesWeiPerGpuHour: rest } };
};

const refusalOf = (fn: () => void): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('MatchingEngine: a node whose GPU model the price book lacks is refused where it enters', () => {
  it('given a price book without B200, when a B200 node is added, then it is refused with the model named and the engine is unchanged', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    const err = refusalOf(() => e.upsertNode(node({ nodeId: 'n-b200', gpuModel: 'B200', gpuCount: 8, vramGiB: 192 }), 0));
    expect(err).toBeInstanceOf(UnknownGpuModelError);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'unknown-gpu-model', nodeId: 'n-b200', gpuModel: 'B200', details: { nodeId: 'n-b200', gpuModel: 'B200' } });
    expect((err as Error).message).toBe("node n-b200: unknown GPU model 'B200' (not in the price book)");
    expect(e.nodeCount()).toBe(0);
    expect(e.getNode('n-b200')).toBeUndefined();
  });

  it('given a model that is an Object property name (constructor), when such a node is added, then it is refused too', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    expect(() => e.upsertNode(node({ nodeId: 'n-x', gpuModel: 'constructor' }), 0)).toThrow("unknown GPU model 'constructor'");
  });

  it('given an engine whose price book lacks T4, when a T4 node is added, then it is refused and a job for any model waits, never placed on it', () => {
    const e = new MatchingEngine(withoutT4());
    expect(() => e.upsertNode(node({ nodeId: 'n-t4', gpuModel: 'T4' }), 0)).toThrow(UnknownGpuModelError);
    e.submitJob(job({ jobId: 'j' }));
    expect(e.matchPending(0, 10)).toEqual([]);
    expect(e.waitingReason('j')).toBe('no node satisfies gpuModel=any, count=1');
  });

  it('given a known node, when an update changes its model to an unknown one, then the update is refused and the node keeps serving as it was', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'n1', gpuModel: 'A100', gpuCount: 2, vramGiB: 80 }), 0);
    expect(() => e.upsertNode(node({ nodeId: 'n1', gpuModel: 'A100X', gpuCount: 2, vramGiB: 80 }), 1)).toThrow("node n1: unknown GPU model 'A100X'");
    expect(e.getNode('n1')).toMatchObject({ gpuModel: 'A100', freeGpus: 2 });
    e.submitJob(job({ jobId: 'j', requirements: { gpuModels: ['A100'] } }));
    expect(e.matchPending(2, 10)).toMatchObject([{ jobId: 'j', nodeId: 'n1' }]);
  });
});

/**
 * Baseline schedulers for the trace replay, pure and in simulated time: strict FIFO, first-fit
 * with backfilling, EASY backfilling and best-fit. All place a pod's GPUs on one node of an
 * accepted model; all know each running pod's runtime exactly (the trace's), as the engine does.
 *
 * Built to replay 100,000-pod traces in seconds: free GPUs are indexed per (model, free count) in
 * lazy min-heaps of node positions, and waiting pods per shape (GPUs, accepted models) in segment
 * trees, so a scheduling pass costs about (placements + shapes) × log, not queue × nodes. Within a
 * pass capacity only shrinks, so once a pod of a shape does not fit, no later pod of that shape can.
 */
import { BinaryHeap } from '@starminer/matching';
import type { TraceNode, TracePod } from './replay';

export const BASELINES = ['fifo-strict', 'first-fit-backfill', 'easy-backfill', 'best-fit'] as const;
export type BaselineKind = (typeof BASELINES)[number];

/** A scheduler under replay: told about arrivals and completions, asked for placements. */
export interface Scheduler {
  name: string;
  submit(pod: TracePod, index: number, atSec: number): void;
  complete(index: number, atSec: number): void;
  /** place what it can now: the indices of the pods started */
  place(atSec: number): number[];
}

/** A waiting value below Infinity that every runtime passes: "any waiting pod". */
const ANY = Number.MAX_VALUE;

/** Min segment tree over fixed positions: leftmost position ≥ from whose value ≤ x. */
class MinTree {
  private readonly size: number;
  private readonly t: Float64Array;

  constructor(n: number) {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.t = new Float64Array(2 * size).fill(Infinity);
  }

  set(i: number, v: number): void {
    let at = i + this.size;
    this.t[at] = v;
    for (at >>= 1; at >= 1; at >>= 1) this.t[at] = Math.min(this.t[2 * at]!, this.t[2 * at + 1]!);
  }

  first(from: number, x: number): number {
    return this.find(1, 0, this.size, from, x);
  }

  private find(node: number, lo: number, hi: number, from: number, x: number): number {
    if (hi <= from || this.t[node]! > x) return -1;
    if (hi - lo === 1) return lo;
    const mid = (lo + hi) >> 1;
    const left = this.find(2 * node, lo, mid, from, x);
    return left >= 0 ? left : this.find(2 * node + 1, mid, hi, from, x);
  }
}

/**
 * Free GPUs per node. heaps[model][k] holds the positions of nodes of that model with k free GPUs;
 * an entry whose node no longer has k free is stale and dropped when it reaches the top.
 */
class FreeIndex {
  readonly free: Int32Array;
  private readonly heaps: BinaryHeap<number>[][];

  constructor(
    nodes: TraceNode[],
    private readonly modelOf: Int32Array,
    readonly maxFreeOfModel: number[],
  ) {
    this.free = new Int32Array(nodes.length);
    this.heaps = maxFreeOfModel.map((max) => Array.from({ length: max + 1 }, () => new BinaryHeap<number>((a, b) => a < b)));
    nodes.forEach((n, i) => this.set(i, n.gpus));
  }

  set(node: number, free: number): void {
    this.free[node] = free;
    if (free >= 0) this.heaps[this.modelOf[node]!]![free]!.push(node);
  }

  private top(model: number, k: number): number {
    const h = this.heaps[model]![k]!;
    while (h.size > 0 && this.free[h.peek()!] !== k) h.pop();
    return h.size > 0 ? h.peek()! : -1;
  }

  /** the first node (in trace order) of an accepted model with ≥ g free GPUs, or -1 */
  firstFit(g: number, models: readonly number[]): number {
    let best = -1;
    for (const m of models)
      for (let k = g; k <= this.maxFreeOfModel[m]!; k++) {
        const n = this.top(m, k);
        if (n >= 0 && (best < 0 || n < best)) best = n;
      }
    return best;
  }

  /** the node of an accepted model with the fewest free GPUs ≥ g (ties: first in trace order), or -1 */
  bestFit(g: number, models: readonly number[]): number {
    const max = Math.max(0, ...models.map((m) => this.maxFreeOfModel[m]!));
    for (let k = g; k <= max; k++) {
      let best = -1;
      for (const m of models) {
        if (k > this.maxFreeOfModel[m]!) continue;
        const n = this.top(m, k);
        if (n >= 0 && (best < 0 || n < best)) best = n;
      }
      if (best >= 0) return best;
    }
    return -1;
  }

  /** runs `fn` as if `node` had no free GPUs */
  without<T>(node: number, fn: () => T): T {
    const saved = this.free[node]!;
    this.free[node] = -1;
    try {
      return fn();
    } finally {
      this.set(node, saved);
    }
  }
}

interface Shape {
  gpus: number;
  /** accepted model indices (every model of the nodes when the pod accepts any) */
  models: number[];
  /** pod indices of this shape, in arrival order */
  pods: number[];
  waiting: MinTree;
  waitingCount: number;
}

/** The EASY reservation of the head pod: node `node` holds it at `atSec`; `extraGpus` there are not needed by it. */
interface Reservation {
  head: number;
  node: number;
  atSec: number;
  extraGpus: number;
}

export function baselineScheduler(kind: BaselineKind, pods: TracePod[], nodes: TraceNode[]): Scheduler {
  const modelIds = new Map<string, number>();
  const modelOf = Int32Array.from(nodes, (n) => {
    if (!modelIds.has(n.model)) modelIds.set(n.model, modelIds.size);
    return modelIds.get(n.model)!;
  });
  const maxFreeOfModel = new Array<number>(modelIds.size).fill(0);
  nodes.forEach((n, i) => (maxFreeOfModel[modelOf[i]!] = Math.max(maxFreeOfModel[modelOf[i]!]!, n.gpus)));
  const allModels = [...modelIds.values()];
  const index = new FreeIndex(nodes, modelOf, maxFreeOfModel);

  // shapes, and the pods no node could ever hold (never queued: they would block strict FIFO forever)
  const shapes: Shape[] = [];
  const shapeKeys = new Map<string, number>();
  const shapeOf = new Int32Array(pods.length);
  const posInShape = new Int32Array(pods.length);
  const possible = new Uint8Array(pods.length);
  pods.forEach((p, i) => {
    const models = p.models.length === 0 ? allModels : [...new Set(p.models)].flatMap((m) => (modelIds.has(m) ? [modelIds.get(m)!] : [])).sort((a, b) => a - b);
    possible[i] = models.some((m) => maxFreeOfModel[m]! >= p.gpus) ? 1 : 0;
    const key = `${p.gpus}:${models.join(',')}`;
    let s = shapeKeys.get(key);
    if (s === undefined) {
      s = shapes.length;
      shapeKeys.set(key, s);
      shapes.push({ gpus: p.gpus, models, pods: [], waiting: new MinTree(0), waitingCount: 0 });
    }
    shapeOf[i] = s;
    posInShape[i] = shapes[s]!.pods.length;
    shapes[s]!.pods.push(i);
  });
  for (const s of shapes) s.waiting = new MinTree(s.pods.length);

  const placedOn = new Int32Array(pods.length).fill(-1);
  const runningOn: number[][] = nodes.map(() => []);
  const endSec = new Float64Array(pods.length);
  let arrived = 0;
  let head = 0;
  let reservation: Reservation | null = null;

  const start = (i: number, node: number, atSec: number, out: number[]): void => {
    const s = shapes[shapeOf[i]!]!;
    s.waiting.set(posInShape[i]!, Infinity);
    s.waitingCount--;
    placedOn[i] = node;
    endSec[i] = atSec + pods[i]!.runtimeSec;
    runningOn[node]!.push(i);
    index.set(node, index.free[node]! - s.gpus);
    out.push(i);
  };
  const choose = (s: Shape): number => (kind === 'best-fit' ? index.bestFit(s.gpus, s.models) : index.firstFit(s.gpus, s.models));
  const waitingHead = (): number => {
    while (head < arrived && (placedOn[head]! >= 0 || !possible[head])) head++;
    return head < arrived ? head : -1;
  };

  /** The earliest time a node of an accepted model frees enough GPUs for pod h (running pods end on time). */
  const reserve = (h: number, atSec: number): Reservation => {
    const s = shapes[shapeOf[h]!]!;
    let best: Reservation | null = null;
    for (let n = 0; n < nodes.length; n++) {
      if (nodes[n]!.gpus < s.gpus || !s.models.includes(modelOf[n]!)) continue;
      const ends = runningOn[n]!.map((i) => [endSec[i]!, pods[i]!.gpus] as const).sort((a, b) => a[0] - b[0]);
      let free = index.free[n]!;
      let at = atSec;
      for (const [end, gpus] of ends) {
        if (free >= s.gpus) break;
        free += gpus;
        at = end;
      }
      if (free < s.gpus || (best && at >= best.atSec)) continue;
      // GPUs of this node free by then beyond what the head needs: long backfills may use them
      const freeThen = index.free[n]! + ends.filter(([end]) => end <= at).reduce((sum, [, gpus]) => sum + gpus, 0);
      best = { head: h, node: n, atSec: at, extraGpus: freeThen - s.gpus };
    }
    return best!;
  };

  /**
   * One pass over the waiting pods in arrival order (from `skipPod`'s successors for its shape),
   * merged across shapes; `tryPlace` starts the pod or says which waiting pods of its shape may
   * still be placed in this pass: 'any', 'short' (ending by the reservation) or 'none'.
   */
  const mergedPass = (tryPlace: (i: number, s: Shape) => 'any' | 'short' | 'none', shortBy: number, skipPod: number): void => {
    const heap = new BinaryHeap<[number, number, number]>((a, b) => a[0] < b[0]); // [pod, shape, max runtime]
    shapes.forEach((s, si) => {
      if (s.waitingCount === 0) return;
      const from = skipPod >= 0 && shapeOf[skipPod] === si ? posInShape[skipPod]! + 1 : 0;
      const p = s.waiting.first(from, ANY);
      if (p >= 0) heap.push([s.pods[p]!, si, ANY]);
    });
    while (heap.size > 0) {
      const [i, si, maxRuntime] = heap.pop()!;
      const s = shapes[si]!;
      const next = tryPlace(i, s);
      if (next === 'none') continue;
      // once only short pods of a shape can pass, that stays so for the rest of the pass
      const x = next === 'any' ? maxRuntime : shortBy;
      const p = s.waiting.first(posInShape[i]! + 1, x);
      if (p >= 0) heap.push([s.pods[p]!, si, x]);
    }
  };

  const passes: Record<BaselineKind, (atSec: number, out: number[]) => void> = {
    'fifo-strict': (atSec, out) => {
      for (let h = waitingHead(); h >= 0; h = waitingHead()) {
        const node = choose(shapes[shapeOf[h]!]!);
        if (node < 0) return;
        start(h, node, atSec, out);
      }
    },
    'first-fit-backfill': (atSec, out) => skipPass(atSec, out),
    'best-fit': (atSec, out) => skipPass(atSec, out),
    'easy-backfill': (atSec, out) => {
      let h = waitingHead();
      for (; h >= 0; h = waitingHead()) {
        const node = index.firstFit(shapes[shapeOf[h]!]!.gpus, shapes[shapeOf[h]!]!.models);
        if (node < 0) break;
        start(h, node, atSec, out);
      }
      if (h < 0) return;
      // kept until the head starts: runtimes are exact and backfills never delay it, so it stays its earliest start
      if (reservation?.head !== h) reservation = reserve(h, atSec);
      const r = reservation;
      mergedPass(
        (i, s) => {
          const node = index.firstFit(s.gpus, s.models);
          if (node < 0) return 'none';
          const long = atSec + pods[i]!.runtimeSec > r.atSec;
          if (!long || node !== r.node) {
            start(i, node, atSec, out);
            return 'any';
          }
          if (s.gpus <= r.extraGpus) {
            r.extraGpus -= s.gpus;
            start(i, node, atSec, out);
            return 'any';
          }
          const elsewhere = index.without(r.node, () => index.firstFit(s.gpus, s.models));
          if (elsewhere < 0) return 'short';
          start(i, elsewhere, atSec, out);
          return 'any';
        },
        r.atSec - atSec,
        h,
      );
    },
  };
  function skipPass(atSec: number, out: number[]): void {
    mergedPass(
      (i, s) => {
        const node = choose(s);
        if (node < 0) return 'none';
        start(i, node, atSec, out);
        return 'any';
      },
      ANY,
      -1,
    );
  }

  return {
    name: kind,
    submit(pod, i) {
      arrived = i + 1;
      if (!possible[i]) return;
      const s = shapes[shapeOf[i]!]!;
      s.waiting.set(posInShape[i]!, pod.runtimeSec);
      s.waitingCount++;
    },
    complete(i) {
      const node = placedOn[i]!;
      const running = runningOn[node]!;
      running.splice(running.indexOf(i), 1);
      index.set(node, index.free[node]! + pods[i]!.gpus);
    },
    place(atSec) {
      const out: number[] = [];
      passes[kind](atSec, out);
      return out;
    },
  };
}

import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { ANCHOR_LEAF_ENCODING, eventHashOf, type PostedAnchor } from '@starminer/chain';
import { decodeEvent, type EventEnvelope, type jobProofsSchema } from '@starminer/events';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { Decode, StoredEvent } from '@starminer/trade-log';
import type { GatewayConfig } from '../gateway.config';
import { JobQueries } from '../jobs/job-queries';
import { AnchorTrees, type ProvenAnchor } from './anchor-trees';
import { JOB_PROOFS_EVENTS_PER_SUBJECT_MAX } from './job-proofs-limits';

export type JobProofsAnswer = z.input<typeof jobProofsSchema>;

/** The bytes a message was stored as, kept with its envelope: the leaf hashes them, not a re-encoding. */
const STORED_BYTES = Symbol('storedBytes');
type StoredEnvelope = EventEnvelope & { readonly [STORED_BYTES]: Uint8Array };

/**
 * Reads an event as stored: checked by the catalogue (as every reader does: an event it refuses
 * makes the job AGGREGATE_UNREADABLE), then shown as the bytes say (not upcast, amounts as the
 * decimal strings they are stored as: the proof is of these bytes), with the bytes kept. One
 * function, so the log's aggregate cache keeps one entry per subject for it.
 */
const storedDecode: Decode = (bytes) => {
  decodeEvent(bytes);
  return Object.assign(JSON.parse(textOf.decode(bytes)) as EventEnvelope, { [STORED_BYTES]: bytes });
};

const textOf = new TextDecoder('utf-8');

/**
 * A job's events with their inclusion proofs: the job's and its contract's subjects read from the
 * log as stored, each event located in the anchor on chain whose range holds it and proven in that
 * anchor's tree (rebuilt from the log and checked against the chain's root). Events past the last
 * anchor come with anchor and proof null.
 */
@Injectable()
export class JobProofs {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly jobs: JobQueries,
    private readonly anchors: AnchorTrees,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  async of(orgId: string, jobId: string): Promise<JobProofsAnswer> {
    // another org's job does not exist for this one (404 JOB_NOT_FOUND)
    await this.jobs.get(orgId, jobId);
    const reads = await Promise.all(
      (['job', 'contract'] as const).map((kind) => this.rt.tradeLog.readSubject<StoredEnvelope>(this.rt.subject(kind, jobId), { decode: storedDecode, limit: JOB_PROOFS_EVENTS_PER_SUBJECT_MAX })),
    );
    const stored = reads.flatMap((r) => r.events).sort((a, b) => a.seq - b.seq);
    const { count, throughSeq } = await this.anchors.coverage();
    const provenBySeq = await this.proveAll(stored.filter((e) => BigInt(e.seq) <= throughSeq), count);
    return {
      jobId,
      chainId: this.config.CHAIN_ID,
      anchorContract: this.anchors.addresses.anchor ?? null,
      leafEncoding: [...ANCHOR_LEAF_ENCODING],
      anchoredThroughSeq: Number(throughSeq),
      events: stored.map((e) => {
        const bytes = e.event[STORED_BYTES];
        const { [STORED_BYTES]: _bytes, ...envelope } = e.event;
        const p = provenBySeq.get(e.seq);
        return {
          seq: e.seq,
          subject: e.subject,
          message: textOf.decode(bytes),
          eventHash: eventHashOf(bytes),
          envelope: envelope as JobProofsAnswer['events'][number]['envelope'],
          anchor: p ? { index: p.anchor.index, fromSeq: Number(p.anchor.fromSeq), toSeq: Number(p.anchor.toSeq), root: p.anchor.root, txHash: p.txHash } : null,
          proof: p ? p.tree.proof(BigInt(e.seq)) : null,
        };
      }),
    };
  }

  /**
   * The anchor of each anchored event. The events are in log order and the anchors' ranges
   * contiguous, so one binary search finds the first event's anchor and the later ones are found
   * by walking on from it.
   */
  private async proveAll(anchored: readonly StoredEvent<StoredEnvelope>[], count: number): Promise<Map<number, ProvenAnchor>> {
    const out = new Map<number, ProvenAnchor>();
    let current: PostedAnchor | null = null;
    for (const e of anchored) {
      const seq = BigInt(e.seq);
      while (current && seq > current.toSeq) current = current.index + 1 < count ? await this.anchors.anchor(current.index + 1) : null;
      if (!current || seq < current.fromSeq) current = await this.anchors.find(seq, count);
      if (!current) continue;
      out.set(e.seq, await this.anchors.proven(current));
    }
    return out;
  }
}

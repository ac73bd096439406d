import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Headers, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { idSchema, jobUpdatePageSchema, jobUpdatePositionSchema, jobUpdateSchema, LIMITS, listQuerySchema, parseJobUpdatePosition, type JobUpdate } from '@starminer/events';
import { IdPipe, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Operation } from '../openapi';
import { JobEventFeed } from './job-event-feed';
import { JOB_EVENTS_RECONNECT_MS } from './job-events-limits';
import { JobUpdates } from './job-updates.store';

const EXAMPLE_UPDATE: JobUpdate = {
  seq: '1042',
  eventId: '0193a7c2-5b1e-7c3d-9f00-2a4b6c8d0e1f',
  type: 'job.contracted',
  jobId: 'job_5f2c9a',
  status: 'contracted',
  at: '2026-11-27T12:00:03.000Z',
  contractAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  txHash: `0x${'ab'.repeat(32)}`,
  blockNumber: '57',
};

const jobIdParam = { jobId: { schema: idSchema, description: 'the job, as POST /v1/jobs answered it' } };

/**
 * Where a stream starts: after Last-Event-ID (what an EventSource sends when it reconnects), else
 * after `?after=` (for clients that cannot set headers; the header wins, being the later position
 * of a reconnecting EventSource whose URL still holds the first one), else from the job's first update.
 */
export function streamPositionOf(lastEventId: string | undefined, after: unknown): bigint {
  const given = lastEventId !== undefined && lastEventId !== '' ? { name: 'Last-Event-ID', value: lastEventId } : after !== undefined ? { name: 'after', value: after } : null;
  if (!given) return 0n;
  const seq = typeof given.value === 'string' ? parseJobUpdatePosition(given.value) : null;
  if (seq === null) throw new DomainError('BAD_LAST_EVENT_ID', `${given.name} must be the id of an update of this stream: a decimal of 1-19 digits`, { field: given.name });
  return seq;
}

@ApiTags('jobs')
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobEventsController {
  constructor(
    private readonly updates: JobUpdates,
    private readonly feed: JobEventFeed,
  ) {}

  @Get(':jobId/events')
  @Operation({
    operationId: 'watchJob',
    summary: "The job's updates as Server-Sent Events, from the first (or after Last-Event-ID) until it ends",
    description:
      'A text/event-stream of every update of the job: status changes, waiting reasons, the contract and settlement transactions. ' +
      'Each message is `id: <seq>` (its position on the trade log), `event: <JobUpdate.type>`, `data: <JobUpdate as JSON>`. ' +
      'It replays what the client has not seen (after `Last-Event-ID`, or `?after=` for clients that cannot set headers), then sends updates as they happen, ' +
      `in seq order, each once. A comment line (\`: heartbeat\`) comes every JOB_EVENTS_HEARTBEAT_SEC seconds (default 15) so proxies keep the stream open; \`retry: ${JOB_EVENTS_RECONNECT_MS}\` tells an EventSource when to reconnect. ` +
      'The server closes the stream after an update with a final status (settled, refunded, failed, cancelled), and after at most 30 minutes ' +
      '(reconnect with Last-Event-ID: nothing is lost). Resuming after the last update of an ended job answers 204, which tells an EventSource to stop. ' +
      '503 TOO_MANY_STREAMS (with Retry-After) when this gateway serves as many streams as it may.',
    auth: 'apiKey',
    params: jobIdParam,
    query: z.strictObject({ after: jobUpdatePositionSchema.optional() }),
    headers: [{ name: 'Last-Event-ID', required: false, description: 'the id (seq) of the last update the client has: the stream resumes after it; wins over ?after=' }],
    answers: {
      200: {
        schema: jobUpdateSchema,
        mediaType: 'text/event-stream',
        description: 'the stream: each message `id: <seq>`, `event: <type>`, `data: <JobUpdate>` (the schema is that of the data)',
        example: EXAMPLE_UPDATE,
        headers: { 'Cache-Control': { description: 'no-cache, no-transform', schema: { type: 'string' } } },
      },
      204: { description: 'the job has ended and the client has every update: nothing more will come' },
    },
    errors: ['BAD_LAST_EVENT_ID', 'JOB_NOT_FOUND', 'TOO_MANY_STREAMS'],
  })
  async watchJob(
    @Req() req: OrgRequest & IncomingMessage,
    @Res() res: ServerResponse,
    @Param('jobId', IdPipe) jobId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('after') after: unknown,
  ): Promise<void> {
    const position = streamPositionOf(lastEventId, after);
    const job = await this.updates.jobOf(req.orgId, jobId);
    const slot = this.feed.open(jobId);
    try {
      // the view says final only once every update of the job is committed with it: nothing more will come
      if (job.final && (await this.updates.after(jobId, position, 1)).length === 0) {
        slot.close();
        res.writeHead(204).end();
        return;
      }
    } catch (err) {
      slot.close();
      throw err;
    }
    await this.feed.serve(req, res, slot, position);
  }

  @Get(':jobId/history')
  @Operation({
    operationId: 'getJobHistory',
    summary: "The job's updates so far, oldest first, paged (the same updates as its event stream)",
    auth: 'apiKey',
    params: jobIdParam,
    query: listQuerySchema,
    answers: { 200: { schema: jobUpdatePageSchema, description: 'a page of updates; nextCursor reads on', example: { updates: [EXAMPLE_UPDATE], nextCursor: null } } },
    errors: ['BAD_CURSOR', 'JOB_NOT_FOUND'],
  })
  async getJobHistory(
    @Req() req: OrgRequest,
    @Param('jobId', IdPipe) jobId: string,
    @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>,
  ): Promise<z.input<typeof jobUpdatePageSchema>> {
    const after = q.cursor === undefined ? 0n : parseJobUpdatePosition(q.cursor);
    if (after === null) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
    await this.updates.jobOf(req.orgId, jobId);
    const limit = q.limit ?? LIMITS.pageSizeDefault;
    const updates = await this.updates.after(jobId, after, limit);
    return { updates, nextCursor: updates.length === limit ? updates[updates.length - 1].seq : null };
  }
}

import { Controller, Get, Param, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { idSchema, jobProofsSchema } from '@starminer/events';
import { IdPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Operation } from '../openapi';
import { JOB_PROOFS_EXAMPLE } from './job-proofs-example';
import { JobProofs, type JobProofsAnswer } from './job-proofs';

@ApiTags('jobs')
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobProofsController {
  constructor(private readonly proofs: JobProofs) {}

  @Get(':jobId/proofs')
  @Operation({
    operationId: 'getJobProofs',
    summary: "The job's events as the trade log stores them, each with its inclusion proof in the anchor on chain",
    description:
      "Every event of the job's and its contract's subjects, in log order: its stream sequence, the message as stored and its envelope, " +
      'eventHash = keccak256(message bytes), and, once an anchor covers it, that anchor (index, range, root, transaction) and the Merkle proof of the leaf (seq, eventHash). ' +
      "Anyone can check a proof without the market: StandardMerkleTree.verify(anchor.root, leafEncoding, [seq, eventHash], proof) from @openzeppelin/merkle-tree, and the AuditAnchor contract's " +
      'getAnchor(anchor.index).root and verifyEvent(anchor.index, seq, eventHash, proof). Events after anchoredThroughSeq have anchor and proof null until the next anchor (the deployer posts one every ANCHOR_INTERVAL_MS).',
    auth: 'apiKey',
    params: { jobId: { schema: idSchema, description: 'the job, as POST /v1/jobs answered it' } },
    answers: { 200: { schema: jobProofsSchema, description: "the job's events and their proofs", example: JOB_PROOFS_EXAMPLE } },
    errors: ['JOB_NOT_FOUND', 'AGGREGATE_UNREADABLE', 'CHAIN_UNAVAILABLE'],
  })
  getJobProofs(@Req() req: OrgRequest, @Param('jobId', IdPipe) jobId: string): Promise<JobProofsAnswer> {
    return this.proofs.of(req.orgId, jobId);
  }
}

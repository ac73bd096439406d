import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { nodeSessionSchema } from '@starminer/events';
import { Operation } from '../openapi';
import { NodeLoginGuard, type NodeRequest } from './guards';
import { NodeSessions } from './node-sessions';

/** A node's login: one signed call, then `Authorization: NodeSession <token>` on the others until it expires. */
@ApiTags('providers')
@Controller('v1/providers/sessions')
@UseGuards(NodeLoginGuard)
export class NodeSessionsController {
  constructor(private readonly sessions: NodeSessions) {}

  @Post()
  @HttpCode(201)
  @Operation({
    operationId: 'createNodeSession',
    summary: 'Log a node key in: a session token for its calls, in place of a signature per call',
    description:
      'Signed by the node key (the x-node-* headers; a session cannot renew itself). The answer\'s token goes in `Authorization: NodeSession <token>` on every provider call ' +
      'of that key until `expiresAt` (NODE_SESSION_TTL_SEC, an hour by default): the gateway then checks a MAC instead of a signature and writes no nonce. ' +
      'Refused tokens answer 401 NODE_SESSION_INVALID or NODE_SESSION_EXPIRED: log in again. The key need not have registered a node. ' +
      "The result's EIP-712 signature stays the node key's: no session moves money on its own.",
    auth: 'nodeSigned',
    answers: {
      201: {
        schema: nodeSessionSchema,
        description: 'the session',
        example: { token: `v1.0x${'ab'.repeat(20)}.1795888800.${'A'.repeat(43)}`, expiresAt: '2026-11-28T18:00:00.000Z', expiresInSec: 3600 },
      },
    },
    errors: [],
  })
  login(@Req() req: NodeRequest): z.input<typeof nodeSessionSchema> {
    return this.sessions.issue(req.nodeAddress, Date.now());
  }
}

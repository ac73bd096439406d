import { HttpRequestError } from 'viem';
import { ChainActionError } from '@starminer/chain';
import { DomainError } from '@starminer/domain';
import { DependencyUnavailableError } from '@starminer/trade-log';
import { describeError, errorFromReply, RemoteUnavailableError } from './errors';
import { errorResponse, RETRY_AFTER_UNAVAILABLE_SEC, retryAfterSecOf } from './http-errors';

describe('what an edge answers for a dependency away', () => {
  it.each([
    ['the chain, as a chain action reports it', 'CHAIN_UNAVAILABLE', new ChainActionError('ChainUnavailable', 'mint: fetch failed')],
    ['the chain, as viem throws it from a read no action wraps', 'CHAIN_UNAVAILABLE', new HttpRequestError({ url: 'http://127.0.0.1:1', details: 'ECONNREFUSED' })],
    ['the database shutting down (SQLSTATE 57P01)', 'DEPENDENCY_UNAVAILABLE', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['the database refusing connections', 'DEPENDENCY_UNAVAILABLE', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a reader dependency away', 'DEPENDENCY_UNAVAILABLE', new DependencyUnavailableError('the chain is away')],
  ])('%s: 503 %s with Retry-After', (_what, code, err) => {
    const { status, body, described } = errorResponse(err);
    expect([status, body.error.code, described.ours]).toEqual([503, code, false]);
    expect(retryAfterSecOf(described)).toBe(RETRY_AFTER_UNAVAILABLE_SEC);
  });

  it.each([
    ['a revert of a contract', new ChainActionError('DeadlineNotReached', 'release: reverted')],
    ['a query of ours the database refuses (SQLSTATE 42P01)', Object.assign(new Error('relation "x" does not exist'), { code: '42P01' })],
    ['any other failure', new Error('boom')],
  ])('%s is our bug: 500 INTERNAL, no Retry-After', (_what, err) => {
    const { status, body, described } = errorResponse(err);
    expect([status, body.error.code, described.ours]).toEqual([500, 'INTERNAL', true]);
    expect(retryAfterSecOf(described)).toBeUndefined();
  });

  it('a command answered CHAIN_UNAVAILABLE comes back as an error a reader waits on (not a refusal it parks), and answers 503 with the code', () => {
    const err = errorFromReply('cmd.deployer.mint', { code: 'CHAIN_UNAVAILABLE', message: 'the chain did not answer; try again' });
    expect(err).toBeInstanceOf(RemoteUnavailableError);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect(err).not.toBeInstanceOf(DomainError);
    expect(describeError(err)).toMatchObject({ kind: 'unavailable', body: { code: 'CHAIN_UNAVAILABLE' }, ours: false });
  });

  it('a refusal naming when to retry gives that Retry-After, and a plain refusal none', () => {
    const inProgress = describeError(new DomainError('IDEMPOTENCY_IN_PROGRESS', 'wait', { retryAfterSec: 42 }));
    expect([inProgress.kind, retryAfterSecOf(inProgress)]).toEqual(['conflict', 42]);
    expect(retryAfterSecOf(describeError(new DomainError('JOB_NOT_FOUND', 'no such job')))).toBeUndefined();
  });
});

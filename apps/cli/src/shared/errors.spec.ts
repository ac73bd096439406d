import { StarMinerApiError, StarMinerNetworkError } from '@starminer/sdk';
import { argumentErrorOf, errorLines, EXIT, OutcomeError, reportOf, UsageError } from './errors';

describe('errors: what the user reads and the exit code', () => {
  it('a refusal of the gateway is exit 1 with its code, status and each violation', () => {
    const err = new StarMinerApiError(400, 'VALIDATION_FAILED', 'the body is invalid', { violations: [{ field: 'budgetWei', message: 'too large', limit: '10^30' }] });
    const r = reportOf(err);
    expect(r).toMatchObject({ exitCode: EXIT.refused, code: 'VALIDATION_FAILED', status: 400, message: 'the body is invalid' });
    expect(errorLines(r)).toEqual(['error VALIDATION_FAILED (400): the body is invalid', '  budgetWei: too large (limit 10^30)']);
  });

  it('other details are shown as JSON', () => {
    const r = reportOf(new StarMinerApiError(400, 'BAD_FILTER', 'expected an operator', { term: 'gpu', position: 4 }));
    expect(errorLines(r)).toEqual(['error BAD_FILTER (400): expected an operator', '  details: {"term":"gpu","position":4}']);
  });

  it('a gateway that fails (5xx) or cannot be reached is exit 3', () => {
    expect(reportOf(new StarMinerApiError(503, 'CHAIN_UNAVAILABLE', 'later')).exitCode).toBe(EXIT.unavailable);
    expect(reportOf(new StarMinerNetworkError('ECONNREFUSED'))).toMatchObject({ exitCode: EXIT.unavailable, code: 'NETWORK' });
  });

  it('usage errors are exit 2, outcomes keep their own code, Ctrl-C is 130', () => {
    expect(reportOf(new UsageError('MISSING_FLAG', '--budget is required'))).toEqual({ exitCode: EXIT.usage, code: 'MISSING_FLAG', message: '--budget is required' });
    expect(reportOf(new OutcomeError(EXIT.jobNotSettled, 'JOB_NOT_SETTLED', 'refunded')).exitCode).toBe(4);
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(reportOf(abort).exitCode).toBe(130);
  });

  it('an error nobody expected still fails the command, with its message', () => {
    expect(reportOf(new Error('boom'))).toEqual({ exitCode: EXIT.refused, code: 'UNEXPECTED', message: 'boom' });
  });

  it('a TypeError or RangeError before anything was sent is a usage error (exit 2); after a request, still UNEXPECTED', () => {
    for (const err of [new TypeError('lastEventId must be a JobUpdate seq'), new RangeError('out of range')]) {
      expect(reportOf(argumentErrorOf(err, false))).toEqual({ exitCode: EXIT.usage, code: 'BAD_ARGUMENT', message: err.message });
      expect(reportOf(argumentErrorOf(err, true))).toMatchObject({ exitCode: EXIT.refused, code: 'UNEXPECTED' });
    }
    const other = new Error('boom');
    expect(argumentErrorOf(other, false)).toBe(other);
  });

  it("escapes control characters of the gateway's message and violations", () => {
    const r = reportOf(new StarMinerApiError(400, 'VALIDATION_FAILED', 'bad\u001b[2J\nerror OK', { violations: [{ field: 'x\u001b', message: 'm\r\u009b' }] }));
    expect(errorLines(r)).toEqual(['error VALIDATION_FAILED (400): bad\\x1b[2J\\nerror OK', '  x\\x1b: m\\r\\x9b']);
  });
});

import { DomainError } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA } from '@starminer/events';
import { appendDrafts, countEvents, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';

const under = serviceUnderTest(IntakeModule, { chain: true });

const submitted = (jobId: string, orgId: string) => ({ type: 'JobSubmitted' as const, data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId } });
const cancel = (orgId: string, jobId: string) => under.service.bus.send(COMMANDS.intake.cancelJob, { orgId, jobId });

describe('cmd.intake.cancelJob', () => {
  it('given a queued job of the org, then JobCancelled, once', async () => {
    await appendDrafts(under.infra.log, 'job', 'job-c1', [submitted('job-c1', 'org-a')]);
    const { seq } = await cancel('org-a', 'job-c1');
    const { events } = await under.infra.log.readSubject('trade.job.job-c1');
    expect(events.map((e) => [e.seq, e.event.type])).toEqual([
      [events[0].seq, 'JobSubmitted'],
      [seq, 'JobCancelled'],
    ]);
    await expect(cancel('org-a', 'job-c1')).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
  });

  it("given another org's job, then JOB_NOT_FOUND (a job of another org does not exist for you)", async () => {
    await appendDrafts(under.infra.log, 'job', 'job-c2', [submitted('job-c2', 'org-a')]);
    const err = await cancel('org-b', 'job-c2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'JOB_NOT_FOUND', kind: 'not-found' });
  });

  it('given a matched job, then JOB_NOT_CANCELLABLE and nothing appended', async () => {
    await appendDrafts(under.infra.log, 'job', 'job-c3', [submitted('job-c3', 'org-a'), { type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'job-c3' } }]);
    const before = await countEvents(under.infra.log, 'trade.job.job-c3');
    await expect(cancel('org-a', 'job-c3')).rejects.toMatchObject({ code: 'JOB_NOT_CANCELLABLE', kind: 'conflict' });
    expect(await countEvents(under.infra.log, 'trade.job.job-c3')).toBe(before);
  });

  it('given an id that is not a subject token, then COMMAND_INVALID before any handler runs', async () => {
    await expect(under.service.bus.send(COMMANDS.intake.cancelJob, { orgId: 'org-a', jobId: 'job 1\u0000' })).rejects.toThrow(/jobId/);
  });
});

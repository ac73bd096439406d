import { uuidv7 } from 'uuidv7';
import { mintAgpu } from '@starminer/chain';
import { accountDecider, decideAccount, DomainError, evolveAccount, initialAccountState, type AccountEvent, type AccountState } from '@starminer/domain';
import { makeEvent, subjectFor } from '@starminer/events';
import { serviceUnderTest } from '@starminer/service-testing';
import { AggregateTooLargeError, MAX_EVENTS_PER_AGGREGATE, MAX_EVENTS_PER_APPEND } from '@starminer/trade-log';
import { IntakeModule } from '../intake.module';
import { Reservations } from './reservations';

/**
 * An org's account grows by two events a job for ever. Intake decides its spending on it from a
 * snapshot of the account (its own `aggregate_snapshots`), so an org past MAX_EVENTS_PER_AGGREGATE
 * events still reserves, and decides exactly as a fold of the whole log would; a snapshot that is
 * not a fold of this log (of a stream reset, of another version, of another event) is ignored.
 */

const AGPU = 10n ** 18n;
const ORG = 'org-long-lived';
const ACCOUNT = `0x${'6e'.repeat(20)}`;
const SUBJECT = subjectFor('account', ORG);
const BALANCE = 1_000n * AGPU;
/** Jobs reserved and released before the test: more events than one read may hold. */
const PAST_JOBS = Math.ceil(MAX_EVENTS_PER_AGGREGATE / 2) + 50;
/** Reservations left open at the end of that history. */
const OPEN = [100n * AGPU, 150n * AGPU, 50n * AGPU];

const under = serviceUnderTest(IntakeModule, { chain: true });
const causation = { correlationId: ORG, causationId: ORG, actor: 'service:test' };
let history: AccountEvent[] = [];

/** The account as a fold of everything the test wrote: the answer a snapshot must never change. */
const truth = (): AccountState => history.reduce(evolveAccount, initialAccountState());
const refusal = (p: Promise<unknown>): Promise<DomainError | undefined> => p.then(() => undefined, (e: unknown) => e as DomainError);

async function write(drafts: AccountEvent[]): Promise<void> {
  for (let i = 0; i < drafts.length; i += MAX_EVENTS_PER_APPEND) {
    const batch = drafts.slice(i, i + MAX_EVENTS_PER_APPEND);
    const events = batch.map((d) => makeEvent(d.type, d.data as never, { id: uuidv7(), aggregateId: ORG, occurredAt: new Date().toISOString(), correlationId: ORG, causationId: ORG, actor: 'service:intake' }));
    await under.infra.log.append(SUBJECT, events, { expectedLastSubjectSeq: 'any' });
  }
  history = history.concat(drafts);
}

beforeAll(async () => {
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: BALANCE });
  const drafts: AccountEvent[] = [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 9 } }];
  for (let i = 0; i < PAST_JOBS; i += 1) {
    const jobId = `past-${i}`;
    const amountWei = BigInt(1 + (i % 7)) * AGPU;
    drafts.push({ type: 'FundsReserved', data: { orgId: ORG, jobId, amountWei } }, { type: 'FundsReleased', data: { orgId: ORG, jobId, amountWei, reason: i % 11 === 0 ? 'failed' : 'contracted' } });
  }
  OPEN.forEach((amountWei, i) => drafts.push({ type: 'FundsReserved', data: { orgId: ORG, jobId: `open-${i}`, amountWei } }));
  await write(drafts);
}, 60_000);

describe('an account longer than one read holds', () => {
  it('is too long to fold whole, yet loads through its snapshot to the same state as a fold of the whole log', async () => {
    expect(history.length).toBeGreaterThan(MAX_EVENTS_PER_AGGREGATE);
    await expect(under.infra.log.readSubject(SUBJECT)).rejects.toBeInstanceOf(AggregateTooLargeError);
    const { rt } = under.service;
    expect((await rt.load('account', ORG, accountDecider)).state).toEqual(truth());
    // the fold was saved: the next load starts from it
    const saved = await rt.snapshots.get(SUBJECT, 'account');
    expect(saved).toMatchObject({ version: accountDecider.snapshot!.version, subjectSeq: expect.any(Number) as number });
    expect((await rt.load('account', ORG, accountDecider)).state).toEqual(truth());
  }, 30_000);

  it('reserves and refuses exactly as a fold of the whole log decides', async () => {
    const reservations = under.service.app.get(Reservations);
    const reservedWei = OPEN.reduce((a, b) => a + b, 0n);
    const over = BALANCE - reservedWei + 1n;
    // what the whole fold decides for a budget just over what is left
    const expected = (() => {
      try {
        const s = truth();
        decideAccount({ type: 'ReserveFunds', jobId: 'probe', amountWei: over, balanceWei: BALANCE, releasesSeen: s.status === 'active' ? s.releasesSeen : 0 }, s);
        return undefined;
      } catch (err) {
        return err as DomainError;
      }
    })();
    expect(expected?.code).toBe('INSUFFICIENT_FUNDS');
    const refused = await refusal(reservations.reserve(ORG, uuidv7(), over, causation));
    expect(refused).toMatchObject({ code: expected!.code, details: expected!.details });

    const jobId = uuidv7();
    await reservations.reserve(ORG, jobId, BALANCE - reservedWei, causation);
    history.push({ type: 'FundsReserved', data: { orgId: ORG, jobId, amountWei: BALANCE - reservedWei } });
    const account = await reservations.account(ORG);
    expect(account).toEqual(truth());
    expect(account.reservations.get(jobId)).toBe(BALANCE - reservedWei);
    // and a release is decided on the snapshot too
    await reservations.release(ORG, jobId, 'cancelled', causation);
    history.push({ type: 'FundsReleased', data: { orgId: ORG, jobId, amountWei: BALANCE - reservedWei, reason: 'cancelled' } });
    expect(await reservations.account(ORG)).toEqual(truth());
  }, 30_000);

  it('ignores a snapshot that is not a fold of this log: past its end, of another event, of another version', async () => {
    const { rt } = under.service;
    const reservations = under.service.app.get(Reservations);
    const current = await rt.snapshots.get(SUBJECT, 'account');
    expect(current).toBeDefined();
    // a state that would let the org spend its whole balance again, were it believed
    const lie = accountDecider.snapshot!.encode({ ...(truth() as Extract<AccountState, { status: 'active' }>), reservations: new Map(), reservedWei: 0n })!;
    const { events } = await under.infra.log.readSubjectPage(SUBJECT, { limit: 10 });
    const foreign = [
      { subjectSeq: current!.subjectSeq + 1_000_000, eventId: current!.eventId, version: current!.version }, // a stream reset since
      { subjectSeq: events[5].seq, eventId: uuidv7(), version: current!.version }, // another event at its position
      { subjectSeq: current!.subjectSeq, eventId: current!.eventId, version: current!.version + 1 }, // another codec version
    ];
    for (const f of foreign) {
      await rt.db.query(`DELETE FROM "${rt.service}".aggregate_snapshots WHERE subject = $1`, [SUBJECT]);
      expect(await rt.snapshots.put({ subject: SUBJECT, decider: 'account', state: lie, ...f })).toBe(true);
      expect(await reservations.account(ORG)).toEqual(truth());
      const refused = await refusal(reservations.reserve(ORG, uuidv7(), BALANCE - 1n, causation));
      expect(refused?.code).toBe('INSUFFICIENT_FUNDS');
    }
    // a snapshot of this log was saved again in its place
    expect(await rt.snapshots.get(SUBJECT, 'account')).toMatchObject({ version: current!.version });
  }, 60_000);
});

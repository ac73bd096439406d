import { encodeEvent, makeEvent, type EventData } from '@starminer/events';
import {
  CONTRACT_TOP_UPS_MAX,
  contractDecider,
  evolveContract,
  initialContractState,
  TOP_UP_EXTENSION_SEC_MAX,
  TOP_UPS_EXTENSION_SEC_MAX,
  type ContractCommand,
  type ContractEvent,
  type ContractState,
} from './contract';
import { draft } from './decider';
import { specFor } from './spec-kit';

const given = specFor(contractDecider);

const JOB_ID = 'job-1';
const NODE_ID = 'node-1';
const NODE_ADDRESS = '0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa';
const OTHER_ADDRESS = '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const REQUESTER = '0x1111111111111111111111111111111111111111';
const ESCROW_WEI = 4n * 10n ** 18n;
const DEADLINE_UNIX_SEC = 1_700_003_600;
const TX = `0x${'ab'.repeat(32)}`;
const RESULT_HASH = `0x${'01'.repeat(32)}`;
const PROOF_HASH = `0x${'02'.repeat(32)}`;
const SIGNATURE = `0x${'03'.repeat(65)}`;

const openedData: EventData<'ContractOpened'> = {
  jobId: JOB_ID,
  chainJobId: `0x${'0f'.repeat(32)}`,
  contractAddress: '0xcccccccccccccccccccccccccccccccccccccccc',
  requesterAddress: REQUESTER,
  nodeAddress: NODE_ADDRESS,
  escrowWei: ESCROW_WEI,
  deadlineUnixSec: DEADLINE_UNIX_SEC,
  termsHash: `0x${'0e'.repeat(32)}`,
  txHash: TX,
  blockNumber: '42',
};

const opened = draft('ContractOpened', openedData);
const openFailed = draft('ContractOpenFailed', { jobId: JOB_ID, code: 'INSUFFICIENT_ALLOWANCE', reason: 'allowance too low' });
const started = draft('JobStarted', { jobId: JOB_ID, nodeId: NODE_ID });
const resultSubmitted = draft('ResultSubmitted', {
  jobId: JOB_ID,
  nodeId: NODE_ID,
  resultHash: RESULT_HASH,
  proofHash: PROOF_HASH,
  signature: SIGNATURE,
  output: 'deadbeef',
});
const decideRelease = draft('SettlementDecided', { jobId: JOB_ID, outcome: 'release', reason: 'result and proof verified' });
const decideRefund = draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: `deadline ${DEADLINE_UNIX_SEC} passed without a result` });
const released = draft('ContractReleased', { jobId: JOB_ID, nodeAddress: NODE_ADDRESS, amountWei: ESCROW_WEI, txHash: TX });
const refunded = draft('ContractRefunded', { jobId: JOB_ID, requesterAddress: REQUESTER, amountWei: ESCROW_WEI, txHash: TX });

const start = (signerAddress = NODE_ADDRESS): ContractCommand => ({ type: 'StartJob', nodeId: NODE_ID, signerAddress });

const submitResult = (
  verification: Extract<ContractCommand, { type: 'SubmitResult' }>['verification'] = { ok: true },
  signerAddress = NODE_ADDRESS,
): ContractCommand => ({
  type: 'SubmitResult',
  nodeId: NODE_ID,
  signerAddress,
  resultHash: RESULT_HASH,
  proofHash: PROOF_HASH,
  signature: SIGNATURE,
  output: 'deadbeef',
  verification,
  nowUnixSec: DEADLINE_UNIX_SEC - 60,
});

const recordReleased: ContractCommand = { type: 'RecordReleased', amountWei: ESCROW_WEI, txHash: TX };
const recordRefunded: ContractCommand = { type: 'RecordRefunded', amountWei: ESCROW_WEI, txHash: TX };

/** Histories by status, for the branches that treat several statuses alike. */
const HISTORY = {
  none: [] as ContractEvent[],
  'open-failed': [openFailed],
  open: [opened],
  running: [opened, started],
  'settling release': [opened, started, resultSubmitted, decideRelease],
  'settling refund': [opened, decideRefund],
  released: [opened, started, resultSubmitted, decideRelease, released],
  refunded: [opened, decideRefund, refunded],
} satisfies Record<string, ContractEvent[]>;
type Status = keyof typeof HISTORY;
const cases = (...statuses: Status[]) => statuses.map((s) => [s, HISTORY[s]] as const);

const fold = (events: ContractEvent[]): ContractState => events.reduce(evolveContract, initialContractState());

/** What the trade log would do on append: validate the data against the catalogue. */
const appendable = (d: ContractEvent) =>
  encodeEvent(makeEvent(d.type, d.data, { id: 'e1', aggregateId: JOB_ID, occurredAt: '2024-01-01T00:00:00.000Z', correlationId: JOB_ID, causationId: JOB_ID, actor: 'test' }));

describe('contract decider', () => {
  describe('RecordOpened', () => {
    it('records the contract opened on chain', () => {
      given([]).when({ type: 'RecordOpened', opened: openedData }).then([opened]);
    });

    it.each(cases('open', 'running', 'released', 'open-failed'))('records nothing when the contract is already %s (a retried open)', (_s, history) => {
      given(history).when({ type: 'RecordOpened', opened: openedData }).then([]);
    });
  });

  describe('RecordOpenFailed', () => {
    const failOpen: ContractCommand = { type: 'RecordOpenFailed', jobId: JOB_ID, code: 'INSUFFICIENT_ALLOWANCE', reason: 'allowance too low' };

    it('records a contract that could not be opened', () => {
      given([]).when(failOpen).then([openFailed]);
    });

    it.each(cases('open-failed', 'open', 'running', 'refunded'))('records nothing when the contract is already %s', (_s, history) => {
      given(history).when(failOpen).then([]);
    });
  });

  describe('StartJob', () => {
    it('starts an open contract for its node', () => {
      given([opened]).when(start()).then([started]);
    });

    it('compares the node address without regard to case', () => {
      given([opened]).when(start(NODE_ADDRESS.toLowerCase())).then([started]);
    });

    it('records nothing when the job already runs (the agent retried)', () => {
      given([opened, started]).when(start()).then([]);
    });

    it.each(cases('none', 'open-failed'))('refuses when the contract is %s', (_s, history) => {
      given(history).when(start()).thenThrows('CONTRACT_NOT_OPEN');
    });

    it('refuses another node', () => {
      given([opened]).when(start(OTHER_ADDRESS)).thenThrows('NOT_ASSIGNED_NODE');
      given([opened, started]).when(start(OTHER_ADDRESS)).thenThrows('NOT_ASSIGNED_NODE');
    });

    it.each(cases('settling release', 'settling refund', 'released', 'refunded'))('refuses when the contract is %s', (_s, history) => {
      given(history).when(start()).thenThrows('CONTRACT_NOT_OPEN');
    });
  });

  describe('SubmitResult', () => {
    it('records a verified result and decides to release', () => {
      given([opened, started]).when(submitResult()).then([resultSubmitted, decideRelease]);
    });

    it('accepts a result on an open contract the node never started', () => {
      given([opened]).when(submitResult()).then([resultSubmitted, decideRelease]);
    });

    it('records a rejected result, why, and decides to refund', () => {
      given([opened, started])
        .when(submitResult({ ok: false, code: 'PROOF_WRONG', reason: 'recomputed proof differs' }))
        .then([
          resultSubmitted,
          draft('ResultRejected', { jobId: JOB_ID, code: 'PROOF_WRONG', reason: 'recomputed proof differs' }),
          draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: 'result rejected: recomputed proof differs' }),
        ]);
    });

    it.each(cases('none', 'open-failed'))('refuses when the contract is %s', (_s, history) => {
      given(history).when(submitResult()).thenThrows('CONTRACT_NOT_OPEN');
    });

    it('refuses a result signed by another key', () => {
      given([opened, started]).when(submitResult({ ok: true }, OTHER_ADDRESS)).thenThrows('BAD_RESULT_SIGNATURE');
    });

    it('checks the signer before the status, so nobody learns a stranger job is settled', () => {
      given(HISTORY.released).when(submitResult({ ok: true }, OTHER_ADDRESS)).thenThrows('BAD_RESULT_SIGNATURE');
    });

    it.each(cases('settling release', 'settling refund', 'released', 'refunded'))('refuses a second result when the contract is %s', (_s, history) => {
      given(history).when(submitResult()).thenThrows('RESULT_ALREADY_FINAL');
    });

    it('produces events that fit the catalogue', () => {
      const events = given([opened, started]).when(submitResult({ ok: false, code: 'RESULT_WRONG', reason: 'recomputed result differs' })).events();
      for (const e of events) expect(() => appendable(e)).not.toThrow();
    });

    // BUG (contract.ts:85): the refund reason is `result rejected: ${verification.reason}`, 17 characters
    // longer than the verification reason. A reason of 984..1000 characters fits ResultRejected.reason
    // (max 1000) but makes SettlementDecided.reason exceed its max of 1000, so the append fails with
    // EVENT_SCHEMA_INVALID and the bad result is never refunded. Expected: every event fits the catalogue
    // (e.g. truncate the composed reason). Today's reasons from verifyWorkloadResult are short, so it is latent.
    it('keeps the refund reason within the catalogue for a verification reason of 1000 characters', () => {
      const events = given([opened, started]).when(submitResult({ ok: false, code: 'RESULT_WRONG', reason: 'x'.repeat(1000) })).events();
      for (const e of events) expect(() => appendable(e)).not.toThrow();
    });
  });

  describe('ExpireDeadline', () => {
    it.each(cases('open', 'running'))('decides a refund when the deadline passed and the contract is %s', (_s, history) => {
      given(history).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + 1 }).then([decideRefund]);
    });

    it('records nothing at the deadline second itself', () => {
      given([opened]).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC }).then([]);
    });

    it('records nothing before the deadline', () => {
      given([opened, started]).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC - 60 }).then([]);
    });

    it.each(cases('none', 'open-failed', 'settling release', 'settling refund', 'released', 'refunded'))(
      'records nothing when the contract is %s',
      (_s, history) => {
        given(history).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + 3600 }).then([]);
      },
    );
  });

  describe('RecordReleased', () => {
    it('records the release transaction of a contract settling to release', () => {
      given(HISTORY['settling release']).when(recordReleased).then([released]);
    });

    it('records a release whose transaction is not known (null txHash)', () => {
      given(HISTORY['settling release'])
        .when({ type: 'RecordReleased', amountWei: ESCROW_WEI, txHash: null })
        .then([draft('ContractReleased', { jobId: JOB_ID, nodeAddress: NODE_ADDRESS, amountWei: ESCROW_WEI, txHash: null })]);
    });

    it('records nothing when already released (settlement ran twice)', () => {
      given(HISTORY.released).when(recordReleased).then([]);
    });

    it('records a release the chain shows although a refund was decided (the chain is the truth)', () => {
      given(HISTORY['settling refund']).when(recordReleased).then([released]);
    });

    it.each(cases('none', 'open-failed', 'open', 'running', 'refunded'))('refuses when the contract is %s', (_s, history) => {
      given(history).when(recordReleased).thenThrows('NOT_SETTLING_RELEASE');
    });
  });

  describe('RecordRefunded', () => {
    it('records the refund transaction of a contract settling to refund', () => {
      given(HISTORY['settling refund']).when(recordRefunded).then([refunded]);
    });

    it('records the refund of a rejected result', () => {
      const rejected = [opened, started, resultSubmitted, draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: 'result rejected: x' })];
      given(rejected).when(recordRefunded).then([refunded]);
    });

    it('records nothing when already refunded', () => {
      given(HISTORY.refunded).when(recordRefunded).then([]);
    });

    it('records a refund the chain shows although a release was decided (the chain is the truth)', () => {
      given(HISTORY['settling release']).when(recordRefunded).then([refunded]);
    });

    it.each(cases('none', 'open-failed', 'open', 'running', 'released'))('refuses when the contract is %s', (_s, history) => {
      given(history).when(recordRefunded).thenThrows('NOT_SETTLING_REFUND');
    });
  });

  describe('evolve', () => {
    const terms = { jobId: JOB_ID, nodeAddress: NODE_ADDRESS, requesterAddress: REQUESTER, escrowWei: ESCROW_WEI, deadlineUnixSec: DEADLINE_UNIX_SEC };

    it('walks open -> running -> settling -> released, keeping the terms', () => {
      expect(fold([opened])).toEqual({ status: 'open', ...terms });
      expect(fold([opened, started])).toEqual({ status: 'running', ...terms });
      expect(fold([opened, started, resultSubmitted, decideRelease])).toEqual({ status: 'settling', outcome: 'release', ...terms });
      expect(fold(HISTORY.released)).toEqual({ status: 'released', ...terms, settleTxHash: TX });
    });

    it('a refunded contract keeps its terms and drops the outcome', () => {
      expect(fold(HISTORY.refunded)).toEqual({ status: 'refunded', ...terms, settleTxHash: TX });
    });

    it('an open failure leaves only the job id', () => {
      expect(fold([openFailed])).toEqual({ status: 'open-failed', jobId: JOB_ID });
    });

    it('a second SettlementDecided does not change the first outcome', () => {
      expect(fold([opened, decideRefund, decideRelease])).toMatchObject({ status: 'settling', outcome: 'refund' });
      given([opened, decideRefund, decideRelease]).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + 1 }).then([]);
    });

    it('refuses a result after the deadline, so the refund follows', () => {
      given([opened, started])
        .when({ ...(submitResult() as Extract<ContractCommand, { type: 'SubmitResult' }>), nowUnixSec: DEADLINE_UNIX_SEC + 1 })
        .thenThrows('RESULT_TOO_LATE');
    });

    it('a late JobStarted after the settlement decision is ignored', () => {
      expect(fold([opened, decideRefund, started])).toMatchObject({ status: 'settling', outcome: 'refund' });
    });

    it('a SettlementDecided after the release is ignored', () => {
      expect(fold([...HISTORY.released, decideRefund]).status).toBe('released');
    });

    it('events before the contract opened leave it unknown', () => {
      expect(fold([started, decideRelease, released, refunded])).toEqual({ status: 'none' });
    });

    it('ResultSubmitted alone holds the result (a redundant copy awaits its verdict); the SettlementDecided with it decides', () => {
      const state = fold([opened, started]);
      expect(evolveContract(state, resultSubmitted)).toEqual({ ...state, status: 'awaiting-verdict' });
      expect(fold([opened, started, resultSubmitted, decideRelease]).status).toBe('settling');
    });
  });
});

describe('contract decider: an open the chain lost (deployer reconcile-opens)', () => {
  const TX2 = `0x${'cd'.repeat(32)}`;
  const restore = (txHash: string | null = TX2): ContractCommand => ({ type: 'RecordOpenRestored', previousTxHash: TX, txHash, blockNumber: '7' });
  const lose: ContractCommand = { type: 'RecordOpenLost', previousTxHash: TX, code: 'OPEN_LOST', reason: 'the deadline passed before the open could be restored' };
  const restored = (txHash: string | null = TX2, previousTxHash: string | null = TX) =>
    draft('ChainEffectRestored', { jobId: JOB_ID, action: 'open', previousTxHash, txHash, blockNumber: '7' });

  it.each(['open', 'running', 'settling release', 'settling refund'] as const)('given a %s contract, when its open is restored, then ChainEffectRestored names the recorded and the new transaction', (status) => {
    given(HISTORY[status]).when(restore()).then([restored()]);
  });

  it('given an open restored with a transaction, when the same transaction is recorded again, then nothing', () => {
    given([opened, restored()]).when(restore()).then([]);
  });

  it('given an open restored once, when it is lost and restored again, then the previous transaction is the restored one', () => {
    given([opened, restored()]).when(restore(`0x${'ee'.repeat(32)}`)).then([restored(`0x${'ee'.repeat(32)}`, TX2)]);
  });

  it('given an open recorded as failed (given up), when the chain shows it opened late, then ChainEffectRestored without a previous transaction, once', () => {
    given([openFailed]).when(restore()).then([restored(TX2, null)]);
    given([openFailed, restored(TX2, null)]).when(restore()).then([]);
  });

  it('given a contract without an open, then a restore of its open is refused', () => {
    given(HISTORY.none).when(restore()).thenThrows('OPEN_NOT_RESTORABLE');
  });

  it.each(['released', 'refunded'] as const)('given a %s contract whose open the chain lost with its settle, when the open is restored, then ChainEffectRestored (settlement then settles again)', (status) => {
    given(HISTORY[status]).when(restore()).then([restored()]);
  });

  it.each(['released', 'refunded'] as const)('given a %s contract, when its open is lost for good, then ChainEffectLost only: the outcome stays on the log', (status) => {
    given(HISTORY[status])
      .when(lose)
      .then([draft('ChainEffectLost', { jobId: JOB_ID, action: 'open', previousTxHash: TX, code: 'OPEN_LOST', reason: 'the deadline passed before the open could be restored' })]);
  });

  it.each(['open', 'running', 'settling refund'] as const)('given a %s contract, when its open is lost, then ChainEffectLost and ContractOpenFailed, so the job ends', (status) => {
    given(HISTORY[status])
      .when(lose)
      .then([
        draft('ChainEffectLost', { jobId: JOB_ID, action: 'open', previousTxHash: TX, code: 'OPEN_LOST', reason: 'the deadline passed before the open could be restored' }),
        draft('ContractOpenFailed', { jobId: JOB_ID, code: 'OPEN_LOST', reason: 'the deadline passed before the open could be restored' }),
      ]);
  });

  it('given a lost open, then the contract is open-failed: a second give-up adds nothing and the node cannot start', () => {
    const history = [opened, ...(given([opened]).when(lose).events() as ContractEvent[])];
    expect(history.reduce(evolveContract, initialContractState()).status).toBe('open-failed');
    given(history).when(lose).then([]);
    given(history).when(start()).thenThrows('CONTRACT_NOT_OPEN');
  });

  it('given a contract without an open, then giving up its open is refused', () => {
    given(HISTORY.none).when(lose).thenThrows('OPEN_NOT_RESTORABLE');
  });
});

describe('contract decider: a release or refund the chain lost (settlement reconcile-settlements)', () => {
  const TX2 = `0x${'cd'.repeat(32)}`;
  const TX3 = `0x${'ef'.repeat(32)}`;
  const restore = (action: 'release' | 'refund', txHash: string | null = TX2): ContractCommand => ({ type: 'RestoreSettleEffect', action, txHash, blockNumber: '9' });
  const restored = (action: 'release' | 'refund', txHash: string | null = TX2, previousTxHash: string | null = TX) =>
    draft('ChainEffectRestored', { jobId: JOB_ID, action, previousTxHash, txHash, blockNumber: '9' });
  const lose = (action: 'release' | 'refund'): ContractCommand => ({ type: 'RecordSettleEffectLost', action, code: 'OPEN_LOST', reason: 'the open was lost and not restored' });
  const lost = (action: 'release' | 'refund', previousTxHash: string | null) =>
    draft('ChainEffectLost', { jobId: JOB_ID, action, previousTxHash, code: 'OPEN_LOST', reason: 'the open was lost and not restored' });

  it('records the block of a release or refund where the chain action gave it', () => {
    given(HISTORY['settling release'])
      .when({ ...recordReleased, blockNumber: '12' } as ContractCommand)
      .then([draft('ContractReleased', { jobId: JOB_ID, nodeAddress: NODE_ADDRESS, amountWei: ESCROW_WEI, txHash: TX, blockNumber: '12' })]);
    given(HISTORY['settling refund'])
      .when({ ...recordRefunded, blockNumber: '13' } as ContractCommand)
      .then([draft('ContractRefunded', { jobId: JOB_ID, requesterAddress: REQUESTER, amountWei: ESCROW_WEI, txHash: TX, blockNumber: '13' })]);
  });

  it.each([
    ['release', 'released'],
    ['refund', 'refunded'],
  ] as const)('given a recorded %s, when it is carried out again, then ChainEffectRestored names the recorded and the new transaction, and the contract holds the new one', (action, status) => {
    given(HISTORY[status]).when(restore(action)).then([restored(action)]);
    const after = fold([...HISTORY[status], restored(action)]);
    expect(after).toMatchObject({ status, settleTxHash: TX2 });
    expect(appendable(restored(action))).toBeDefined();
  });

  it('given a restored release, when the same transaction is restored again, then nothing; when lost again, the previous transaction is the restored one', () => {
    given([...HISTORY.released, restored('release')]).when(restore('release')).then([]);
    given([...HISTORY.released, restored('release')]).when(restore('release', TX3)).then([restored('release', TX3, TX2)]);
  });

  it('given a release recorded without a transaction (the chain settled it first), when the chain shows its transaction, then the restore names it', () => {
    const releasedUnknown = draft('ContractReleased', { jobId: JOB_ID, nodeAddress: NODE_ADDRESS, amountWei: ESCROW_WEI, txHash: null });
    given([opened, started, resultSubmitted, decideRelease, releasedUnknown]).when(restore('release')).then([restored('release', TX2, null)]);
  });

  it.each(['none', 'open', 'running', 'settling release', 'refunded'] as const)('given a %s contract, then restoring a release is refused', (status) => {
    given(HISTORY[status]).when(restore('release')).thenThrows('SETTLE_EFFECT_NOT_RECORDED');
  });

  it.each(['none', 'open', 'settling refund', 'released'] as const)('given a %s contract, then restoring a refund is refused', (status) => {
    given(HISTORY[status]).when(restore('refund')).thenThrows('SETTLE_EFFECT_NOT_RECORDED');
  });

  it('given a recorded release that cannot be carried out again, when given up, then ChainEffectLost names the lost transaction and the contract is settle-lost, once', () => {
    given(HISTORY.released).when(lose('release')).then([lost('release', TX)]);
    const history = [...HISTORY.released, lost('release', TX)];
    expect(fold(history)).toEqual({ status: 'settle-lost', action: 'release', jobId: JOB_ID, nodeAddress: NODE_ADDRESS, requesterAddress: REQUESTER, escrowWei: ESCROW_WEI, deadlineUnixSec: DEADLINE_UNIX_SEC });
    given(history).when(lose('release')).then([]);
    given(history).when(restore('release')).thenThrows('SETTLE_EFFECT_NOT_RECORDED');
    given(history).when(submitResult()).thenThrows('RESULT_ALREADY_FINAL');
  });

  it('given a settlement that never reached the chain (its open lost), when given up, then ChainEffectLost without a transaction ends it', () => {
    given(HISTORY['settling refund']).when(lose('refund')).then([lost('refund', null)]);
    expect(fold([...HISTORY['settling refund'], lost('refund', null)])).toMatchObject({ status: 'settle-lost', action: 'refund' });
    given([...HISTORY['settling refund'], lost('refund', null)]).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + 1 }).then([]);
    given([...HISTORY['settling refund'], lost('refund', null)]).when(recordRefunded).thenThrows('NOT_SETTLING_REFUND');
  });

  it.each(['none', 'open', 'running', 'settling refund', 'refunded'] as const)('given a %s contract, then giving up a release is refused', (status) => {
    given(HISTORY[status]).when(lose('release')).thenThrows('SETTLE_EFFECT_NOT_RECORDED');
  });

  it('an open restored leaves a settled contract settled, its settle transaction as it was (the settle effect is its own)', () => {
    const openRestored = draft('ChainEffectRestored', { jobId: JOB_ID, action: 'open', previousTxHash: TX, txHash: TX2, blockNumber: '7' });
    expect(fold([...HISTORY.released, openRestored])).toEqual({ ...fold(HISTORY.released), restoredOpenTxHash: TX2 });
  });
});

describe('contract decider: a top-up of the escrow (issue 16)', () => {
  const EXTRA_WEI = 2n * 10n ** 18n;
  const EXTRA_SEC = 1_800;
  const TOP_UP_TX = `0x${'9a'.repeat(32)}`;
  const topUp = (over: Partial<Extract<ContractCommand, { type: 'TopUpContract' }>> = {}): ContractCommand => ({
    type: 'TopUpContract',
    topUpId: 'topup-1',
    extraCostWei: EXTRA_WEI,
    extraRuntimeSec: EXTRA_SEC,
    newCostWei: ESCROW_WEI + EXTRA_WEI,
    newDeadlineUnixSec: DEADLINE_UNIX_SEC + EXTRA_SEC,
    toppedUpAtUnixSec: DEADLINE_UNIX_SEC - 60,
    txHash: TOP_UP_TX,
    blockNumber: '50',
    ...over,
  });
  const toppedUp = (over: Partial<EventData<'ContractToppedUp'>> = {}) =>
    draft('ContractToppedUp', {
      jobId: JOB_ID,
      topUpId: 'topup-1',
      extraCostWei: EXTRA_WEI,
      extraRuntimeSec: EXTRA_SEC,
      newCostWei: ESCROW_WEI + EXTRA_WEI,
      newDeadlineUnixSec: DEADLINE_UNIX_SEC + EXTRA_SEC,
      txHash: TOP_UP_TX,
      blockNumber: '50',
      ...over,
    });
  const second = { topUpId: 'topup-2', newCostWei: ESCROW_WEI + 2n * EXTRA_WEI, newDeadlineUnixSec: DEADLINE_UNIX_SEC + 2 * EXTRA_SEC, txHash: `0x${'9b'.repeat(32)}`, blockNumber: '51' };

  it.each(cases('open', 'running', 'settling release'))('given a %s contract, when the chain topped it up, then ContractToppedUp with the amounts in base units', (_s, history) => {
    given(history).when(topUp()).then([toppedUp()]);
    expect(appendable(toppedUp())).toBeDefined();
  });

  it('given a top-up, then the contract holds the new escrow and deadline: a result after the old deadline is in time, the refund waits for the new one', () => {
    const history = [opened, started, toppedUp()];
    expect(fold(history)).toEqual({
      status: 'running',
      jobId: JOB_ID,
      nodeAddress: NODE_ADDRESS,
      requesterAddress: REQUESTER,
      escrowWei: ESCROW_WEI + EXTRA_WEI,
      deadlineUnixSec: DEADLINE_UNIX_SEC + EXTRA_SEC,
      topUps: { ids: ['topup-1'], extendedSec: EXTRA_SEC },
    });
    given(history)
      .when({ ...(submitResult() as Extract<ContractCommand, { type: 'SubmitResult' }>), nowUnixSec: DEADLINE_UNIX_SEC + 60 })
      .then([resultSubmitted, decideRelease]);
    given(history).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + 1 }).then([]);
    given(history)
      .when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE_UNIX_SEC + EXTRA_SEC + 1 })
      .then([draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: `deadline ${DEADLINE_UNIX_SEC + EXTRA_SEC} passed without a result` })]);
  });

  it('given a recorded top-up, when the same top-up id is recorded again (a retry), then nothing, even once the contract ended', () => {
    given([opened, toppedUp()]).when(topUp()).then([]);
    const releasedAfter = [opened, toppedUp(), started, resultSubmitted, decideRelease, released];
    expect(fold(releasedAfter)).toMatchObject({ status: 'released', escrowWei: ESCROW_WEI + EXTRA_WEI, topUps: { ids: ['topup-1'] } });
    given(releasedAfter).when(topUp()).then([]);
  });

  it('given two top-ups recorded in another order than the chain made them, then the contract is the same as in the chain order', () => {
    const inOrder = fold([opened, toppedUp(), toppedUp(second)]);
    const reversed = fold([opened, toppedUp(second), toppedUp()]);
    expect(reversed).toEqual({ ...inOrder, topUps: { ids: ['topup-2', 'topup-1'], extendedSec: 2 * EXTRA_SEC } });
    expect(inOrder).toMatchObject({ escrowWei: ESCROW_WEI + 2n * EXTRA_WEI, deadlineUnixSec: DEADLINE_UNIX_SEC + 2 * EXTRA_SEC });
  });

  it.each(cases('none', 'open-failed'))('given a %s contract, then a top-up is refused', (_s, history) => {
    given(history).when(topUp()).thenThrows('CONTRACT_NOT_OPEN');
  });

  it.each(cases('released', 'refunded'))('given a %s contract, then a top-up is refused: its escrow is final', (_s, history) => {
    given(history).when(topUp()).thenThrows('JOB_ALREADY_FINAL');
  });

  it('given a settle-lost contract, then a top-up is refused', () => {
    const lostRelease = draft('ChainEffectLost', { jobId: JOB_ID, action: 'release', previousTxHash: TX, code: 'OPEN_LOST', reason: 'the open was lost and not restored' });
    given([...HISTORY.released, lostRelease]).when(topUp()).thenThrows('JOB_ALREADY_FINAL');
  });

  it('refuses a top-up the chain made after the deadline the log holds; accepts one at the deadline second itself', () => {
    given([opened]).when(topUp({ toppedUpAtUnixSec: DEADLINE_UNIX_SEC + 1 })).thenThrows('RESULT_TOO_LATE');
    given([opened]).when(topUp({ toppedUpAtUnixSec: DEADLINE_UNIX_SEC })).then([toppedUp()]);
  });

  it('refuses amounts out of the bounds: no extra escrow, a new cost without it, an extension of 0 or over the bound per top-up', () => {
    given([opened]).when(topUp({ extraCostWei: 0n })).thenThrows('AMOUNT_NOT_POSITIVE');
    given([opened]).when(topUp({ extraCostWei: -1n })).thenThrows('AMOUNT_NOT_POSITIVE');
    given([opened]).when(topUp({ newCostWei: EXTRA_WEI - 1n })).thenThrows('BAD_AMOUNT');
    given([opened]).when(topUp({ extraRuntimeSec: 0 })).thenThrows('RUNTIME_OUT_OF_RANGE');
    given([opened]).when(topUp({ extraRuntimeSec: 1.5 })).thenThrows('RUNTIME_OUT_OF_RANGE');
    given([opened]).when(topUp({ extraRuntimeSec: TOP_UP_EXTENSION_SEC_MAX + 1 })).thenThrows('RUNTIME_OUT_OF_RANGE');
    given([opened]).when(topUp({ extraRuntimeSec: TOP_UP_EXTENSION_SEC_MAX })).then([toppedUp({ extraRuntimeSec: TOP_UP_EXTENSION_SEC_MAX })]);
  });

  it('refuses a top-up past the total extension, and past the most top-ups of one contract', () => {
    const week = TOP_UP_EXTENSION_SEC_MAX;
    const weeks = Array.from({ length: 4 }, (_, i) => toppedUp({ topUpId: `w-${i}`, extraRuntimeSec: week }));
    const left = TOP_UPS_EXTENSION_SEC_MAX - 4 * week;
    given([opened, ...weeks]).when(topUp({ extraRuntimeSec: left + 1 })).thenThrows('RUNTIME_OUT_OF_RANGE');
    given([opened, ...weeks]).when(topUp({ extraRuntimeSec: left })).then([toppedUp({ extraRuntimeSec: left })]);
    const many = Array.from({ length: CONTRACT_TOP_UPS_MAX }, (_, i) => toppedUp({ topUpId: `t-${i}`, extraRuntimeSec: 1 }));
    given([opened, ...many]).when(topUp({ extraRuntimeSec: 1 })).thenThrows('RUNTIME_OUT_OF_RANGE');
    given([opened, ...many]).when(topUp({ topUpId: 't-0', extraRuntimeSec: 1 })).then([]);
  });

  it('a top-up event on an ended contract leaves it as it was', () => {
    expect(fold([...HISTORY.refunded, toppedUp()])).toEqual(fold(HISTORY.refunded));
  });
});

describe('contract decider: the runway warning (issue 16)', () => {
  const THRESHOLD_SEC = 900;
  const warn = (nowUnixSec: number): ContractCommand => ({ type: 'WarnRunway', nowUnixSec, thresholdSec: THRESHOLD_SEC });
  const low = (deadlineUnixSec: number, atUnixSec: number) =>
    draft('ContractRunwayLow', { jobId: JOB_ID, deadlineUnixSec, atUnixSec, runwaySec: deadlineUnixSec - atUnixSec, thresholdSec: THRESHOLD_SEC });
  const toppedUp = draft('ContractToppedUp', {
    jobId: JOB_ID,
    topUpId: 'topup-1',
    extraCostWei: 10n ** 18n,
    extraRuntimeSec: 600,
    newCostWei: ESCROW_WEI + 10n ** 18n,
    newDeadlineUnixSec: DEADLINE_UNIX_SEC + 600,
    txHash: `0x${'9a'.repeat(32)}`,
    blockNumber: '50',
  });

  it.each(cases('open', 'running'))('given a %s contract whose runway is under the threshold, then ContractRunwayLow names the deadline and the runway', (_s, history) => {
    given(history).when(warn(DEADLINE_UNIX_SEC - 100)).then([low(DEADLINE_UNIX_SEC, DEADLINE_UNIX_SEC - 100)]);
    expect(appendable(low(DEADLINE_UNIX_SEC, DEADLINE_UNIX_SEC - 100))).toBeDefined();
  });

  it('given a runway at or above the threshold, or a deadline passed, then nothing (the refund is the deadline scan\'s)', () => {
    given([opened]).when(warn(DEADLINE_UNIX_SEC - THRESHOLD_SEC)).then([]);
    given([opened]).when(warn(DEADLINE_UNIX_SEC + 1)).then([]);
    given([opened]).when(warn(DEADLINE_UNIX_SEC)).then([low(DEADLINE_UNIX_SEC, DEADLINE_UNIX_SEC)]);
  });

  it('warns once per deadline: a top-up moves the deadline and re-arms it', () => {
    given([opened, low(DEADLINE_UNIX_SEC, DEADLINE_UNIX_SEC - 100)]).when(warn(DEADLINE_UNIX_SEC - 50)).then([]);
    given([opened, low(DEADLINE_UNIX_SEC, DEADLINE_UNIX_SEC - 100), toppedUp])
      .when(warn(DEADLINE_UNIX_SEC - 50))
      .then([low(DEADLINE_UNIX_SEC + 600, DEADLINE_UNIX_SEC - 50)]);
  });

  it.each(cases('none', 'open-failed', 'settling release', 'released', 'refunded'))('given a %s contract, then nothing', (_s, history) => {
    given(history).when(warn(DEADLINE_UNIX_SEC - 100)).then([]);
  });
});

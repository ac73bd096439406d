// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Compute Service Contracts (CSC): one escrow record per job, keyed by the job id
/// @notice One contract holds every job's escrow. A record lives at a deterministic key (the job
///         id), so a retried open can never open twice (the second sees the record and stops). We
///         measured EIP-1167 clones against this (docs/BENCHMARKS.md, "Gas"): a clone per job pays
///         CREATE (32k) + code deposit + a cold new account for the token balance, well above the
///         120k open+release budget; two packed storage slots per job fit it.
/// @dev One storage slot per job: status, deadline and a 208-bit commitment to (requester, provider,
///      costWei). Settling calls pass those three back (the library reads them from the job's
///      ComputeContractOpened event) and the contract checks them against the commitment, so
///      nobody can redirect or resize a payout. The full record (terms hash, expected runtime,
///      result and proof hashes, timestamps) is in the events, part of the chain's history, at a
///      fraction of the cost of storage: a second slot would add 22k gas to every open.
///      A top-up rewrites that slot (the commitment to the new total cost, the later deadline) and
///      keeps its own records (the job's extension, the used top-up ids) in slots that only top-ups
///      write, so a job never topped up costs what it did before.
contract ComputeEscrow is AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant DEPLOYER_ROLE = keccak256("DEPLOYER_ROLE");
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");
    /// @notice Contracts that open jobs with their own tokens for a requester (the compute vaults).
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");
    /// @notice What the provider's node key signs: a result and its proof for one job, on this
    ///         contract (verifyingContract) and this chain (chainId) via the EIP-712 domain.
    bytes32 public constant RESULT_TYPEHASH = keccak256("Result(bytes32 jobId,bytes32 resultHash,bytes32 proofHash)");
    /// @notice Upper bound of a batch, so a batch always fits in a block.
    uint256 public constant MAX_BATCH = 64;
    /// @notice Most one top-up may move a job's deadline: a job runs on in steps the requester
    ///         pays for, not in one open-ended jump.
    uint256 public constant MAX_TOP_UP_EXTENSION_SEC = 7 days;
    /// @notice Most all top-ups of one job together may move its deadline. Why a bound at all: the
    ///         refund paths (settlement's, then anyone's) start at the deadline, so a job whose
    ///         deadline could be pushed without end could hold a requester's escrow without end.
    uint256 public constant MAX_TOTAL_EXTENSION_SEC = 30 days;
    /// @notice Most top-ups of one job: bounds what a reader folds (one event per top-up).
    uint256 public constant MAX_TOP_UPS_PER_JOB = 32;
    /// @notice Most attempts of one job: the open is attempt 1, each reassign one more (issue 16,
    ///         re-match on failure). Equal to the platform's LIMITS.jobAttemptsMax.
    uint256 public constant MAX_ATTEMPTS_PER_JOB = 3;
    /// @notice Latest deadline a reassign may set, from the reassign's block: the platform's longest
    ///         job deadline (LIMITS.deadlineSecMax), so a reassign cannot hold an escrow without end.
    uint256 public constant MAX_ATTEMPT_DEADLINE_SEC = 30 days;

    enum Status {
        None,
        Open,
        Released,
        Refunded,
        Disputed
    }

    /// @dev One slot. While Disputed, `deadline` holds the dispute's decide-by time.
    struct Job {
        uint208 commitment;
        uint40 deadline;
        Status status;
    }

    /// @dev What the top-ups of one job added up to; a slot of its own, written by top-ups only,
    ///      so a job never topped up costs nothing more to open or settle.
    struct Extension {
        uint40 extendedSec;
        uint16 topUps;
    }

    /// @notice Who pays, who is paid, how much: committed at open, restated at settlement.
    struct Terms {
        address requester;
        address provider;
        uint256 costWei;
    }

    /// @notice One job of a `releaseBatch`: what `release` takes for it.
    struct ReleaseItem {
        bytes32 jobId;
        Terms terms;
        bytes32 resultHash;
        bytes32 proofHash;
        bytes providerSignature;
    }

    /// @notice Why `releaseBatch` left an item as it was (its ComputeContractReleaseSkipped event):
    ///         the reason `release` would have reverted with. `None` is never emitted.
    enum ReleaseSkip {
        None,
        /// @dev no record for the job id (UnknownJob)
        UnknownJob,
        /// @dev released before (AlreadySettled): a retried batch pays nothing twice
        AlreadyReleased,
        /// @dev refunded before (AlreadySettled): the money went back to the requester
        AlreadyRefunded,
        /// @dev the terms are not those committed (TermsMismatch)
        TermsMismatch,
        /// @dev no result to pay for (ZeroResultHash)
        ZeroResultHash,
        /// @dev not signed by the terms' provider for this job, result and proof (InvalidProviderSignature)
        InvalidProviderSignature
    }

    struct OpenParams {
        bytes32 jobId;
        address requester;
        address provider;
        uint256 costWei;
        uint32 expectedRuntimeSec;
        uint40 deadline;
        bytes32 termsHash;
    }

    /// @notice EIP-2612 permit for exactly `costWei`, signed by the requester for this escrow.
    ///         `deadline == 0` means "no permit, use the existing allowance".
    struct PermitSig {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    IERC20 public immutable token;
    /// @notice After a job's deadline plus this delay anyone may refund it (to its requester only).
    uint256 public immutable publicRefundDelaySec;
    /// @notice A dispute that is not decided within this window can be refunded by anyone.
    uint256 public immutable disputeWindowSec;

    /// @dev No running total of escrows on purpose: it would add ~5k gas to every open and every
    ///      settlement. The invariant (balance == sum of open escrows) is checked from the records.
    mapping(bytes32 jobId => Job) private _jobs;
    mapping(bytes32 jobId => Extension) private _extensions;
    /// @notice The job a top-up id paid into (zero: the id is unused). A top-up id pays at most
    ///         once, so a relayer that retries after a lost receipt cannot pay twice.
    mapping(bytes32 topUpId => bytes32 jobId) public topUpJobOf;
    /// @dev Reassigns made per job (attempt - 1); a slot written by reassigns only.
    mapping(bytes32 jobId => uint8) private _reassigns;

    error ZeroAddress();
    error ZeroJobId();
    error ZeroCost(bytes32 jobId);
    error DeadlineInPast(bytes32 jobId, uint256 deadline, uint256 nowSec);
    error JobAlreadyExists(bytes32 jobId, Status status);
    error UnknownJob(bytes32 jobId);
    error AlreadySettled(bytes32 jobId, Status status);
    error NotOpen(bytes32 jobId, Status status);
    error PermitFailed(bytes32 jobId, address requester, uint256 allowanceWei, uint256 neededWei);
    error InvalidProviderSignature(bytes32 jobId, address recovered, address provider);
    error ZeroResultHash(bytes32 jobId);
    error TermsMismatch(bytes32 jobId);
    error DeadlineNotReached(bytes32 jobId, uint256 refundableAt, uint256 nowSec);
    error BatchTooLarge(uint256 size, uint256 max);
    error BatchLengthMismatch(uint256 jobs, uint256 permits);
    error ZeroTopUpId();
    error TopUpIdUsed(bytes32 topUpId, bytes32 jobId);
    error ZeroExtension(bytes32 jobId);
    error ExtensionAboveBound(bytes32 jobId, uint256 extraRuntimeSec, uint256 maxSec);
    error TotalExtensionAboveBound(bytes32 jobId, uint256 totalSec, uint256 maxSec);
    error TooManyTopUps(bytes32 jobId, uint256 maxTopUps);
    error DeadlinePassed(bytes32 jobId, uint256 deadline, uint256 nowSec);
    error AttemptOutOfOrder(bytes32 jobId, uint256 attempt, uint256 expectedAttempt);
    error TooManyAttempts(bytes32 jobId, uint256 maxAttempts);
    error RequesterChanged(bytes32 jobId);
    error SameProvider(bytes32 jobId, address provider);
    error CostAboveEscrow(bytes32 jobId, uint256 newCostWei, uint256 escrowWei);
    error DeadlineAboveBound(bytes32 jobId, uint256 deadline, uint256 maxDeadline);

    event ComputeContractOpened(
        bytes32 indexed jobId,
        address indexed requester,
        address indexed provider,
        uint256 costWei,
        uint32 expectedRuntimeSec,
        uint40 deadline,
        bytes32 termsHash,
        uint64 openedAt
    );
    event ComputeContractReleased(
        bytes32 indexed jobId,
        address indexed provider,
        uint256 costWei,
        bytes32 resultHash,
        bytes32 proofHash,
        address settledBy,
        uint64 settledAt
    );
    /// @notice `releaseBatch` did not release this item, for `reason`; the batch went on.
    event ComputeContractReleaseSkipped(bytes32 indexed jobId, ReleaseSkip reason);
    event ComputeContractRefunded(
        bytes32 indexed jobId, address indexed requester, uint256 costWei, address settledBy, uint64 settledAt
    );
    /// @notice More escrow and more time for a running job. `newCostWei` is what release pays and
    ///         refund returns from now on (the terms a settlement restates); `newDeadline` the job's.
    event ComputeContractToppedUp(
        bytes32 indexed jobId,
        bytes32 indexed topUpId,
        uint256 extraCostWei,
        uint256 newCostWei,
        uint32 extraRuntimeSec,
        uint40 newDeadline,
        uint64 toppedUpAt
    );
    /// @notice The open escrow moved to another provider for the job's next attempt (its first
    ///         provider ran nothing to the end and is paid nothing). From now on release pays
    ///         `newProvider` `newCostWei` and refund returns `newCostWei`; `returnedWei` (the old cost
    ///         less the new) went back to the requester in the same transaction.
    event ComputeContractReassigned(
        bytes32 indexed jobId,
        uint8 indexed attempt,
        address oldProvider,
        address indexed newProvider,
        uint256 newCostWei,
        uint256 returnedWei,
        uint40 newDeadline,
        uint64 reassignedAt
    );
    event ComputeContractDisputed(bytes32 indexed jobId, bytes32 reasonHash, uint40 decideBy, uint64 disputedAt);

    constructor(
        IERC20 token_,
        address admin,
        address deployer,
        address settlement,
        uint256 publicRefundDelaySec_,
        uint256 disputeWindowSec_
    ) EIP712("StarMiner Compute Escrow", "1") {
        if (address(token_) == address(0) || admin == address(0) || deployer == address(0) || settlement == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        publicRefundDelaySec = publicRefundDelaySec_;
        disputeWindowSec = disputeWindowSec_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(DEPLOYER_ROLE, deployer);
        _grantRole(SETTLEMENT_ROLE, settlement);
    }

    // ---------------------------------------------------------------- open

    /// @notice Open with the escrow pulled through an existing allowance.
    function open(OpenParams calldata p) external onlyRole(DEPLOYER_ROLE) nonReentrant {
        _validate(p);
        _open(p, p.requester);
    }

    /// @notice Open a job for `p.requester` paid by the caller (a vault drawing within its owner's
    ///         cap): refunds still go to the requester.
    function openFunded(OpenParams calldata p) external onlyRole(FUNDER_ROLE) nonReentrant {
        _validate(p);
        _open(p, msg.sender);
    }

    /// @notice Open in one transaction: the requester's permit, then the pull.
    function openWithPermit(OpenParams calldata p, PermitSig calldata permit)
        external
        onlyRole(DEPLOYER_ROLE)
        nonReentrant
    {
        _validate(p);
        _permit(p.jobId, p.requester, p.costWei, permit);
        _open(p, p.requester);
    }

    /// @notice Open many jobs in one transaction. A job id that already has a record is skipped
    ///         (a retried batch opens nothing twice); any other failure reverts the whole batch.
    /// @param permits either empty (allowances) or one per job (deadline 0 = no permit for that one)
    /// @return opened how many records were created
    function openBatch(OpenParams[] calldata ps, PermitSig[] calldata permits)
        external
        onlyRole(DEPLOYER_ROLE)
        nonReentrant
        returns (uint256 opened)
    {
        uint256 n = ps.length;
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        if (permits.length != 0 && permits.length != n) revert BatchLengthMismatch(n, permits.length);
        for (uint256 i; i < n; ++i) {
            OpenParams calldata p = ps[i];
            if (_jobs[p.jobId].status != Status.None) continue;
            _validate(p);
            if (permits.length != 0) _permit(p.jobId, p.requester, p.costWei, permits[i]);
            _open(p, p.requester);
            unchecked {
                ++opened;
            }
        }
    }

    function _permit(bytes32 jobId, address requester, uint256 amountWei, PermitSig calldata permit) private {
        if (permit.deadline == 0) return;
        // A permit can be front-run (its signature is public once in the mempool); then the
        // allowance already exists and the pull below still succeeds. Only fail when it does not.
        try IERC20Permit(address(token)).permit(
            requester, address(this), amountWei, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {
            uint256 allowanceWei = token.allowance(requester, address(this));
            if (allowanceWei < amountWei) revert PermitFailed(jobId, requester, allowanceWei, amountWei);
        }
    }

    /// @dev Checked before the permit, so a bad job is reported as such, not as a failed permit.
    function _validate(OpenParams calldata p) private view {
        if (p.jobId == bytes32(0)) revert ZeroJobId();
        if (p.requester == address(0) || p.provider == address(0)) revert ZeroAddress();
        if (p.costWei == 0) revert ZeroCost(p.jobId);
        if (p.deadline <= block.timestamp) revert DeadlineInPast(p.jobId, p.deadline, block.timestamp);
    }

    function _open(OpenParams calldata p, address payer) private {
        Job storage job = _jobs[p.jobId];
        if (job.status != Status.None) revert JobAlreadyExists(p.jobId, job.status);

        job.commitment = _commit(p.requester, p.provider, p.costWei);
        job.deadline = p.deadline;
        job.status = Status.Open;

        emit ComputeContractOpened(
            p.jobId, p.requester, p.provider, p.costWei, p.expectedRuntimeSec, p.deadline, p.termsHash, uint64(block.timestamp)
        );
        // Effects before the interaction; the token is fixed at construction and the guard blocks
        // re-entry anyway.
        token.safeTransferFrom(payer, address(this), p.costWei);
    }

    // ---------------------------------------------------------------- top up

    /// @notice More escrow and more time for an open job, paid by its requester (a permit for
    ///         exactly `extraCostWei`, or its allowance when `permit.deadline == 0`), relayed by the
    ///         platform like open. Only while the job is Open and its deadline has not passed (the
    ///         deadline second itself still counts); not while disputed or once settled. The deadline
    ///         moves by `extraRuntimeSec` (1..MAX_TOP_UP_EXTENSION_SEC, all top-ups of the job
    ///         together at most MAX_TOTAL_EXTENSION_SEC, at most MAX_TOP_UPS_PER_JOB of them), the
    ///         commitment to the new total cost: release pays the provider the total, refund returns
    ///         the total, a slash restates the total. `topUpId` pays once: a second top-up with it
    ///         reverts TopUpIdUsed (whichever job it names), so a retried relay never pays twice.
    /// @param t the job's terms as they are now (its cost after earlier top-ups)
    function topUp(
        bytes32 jobId,
        bytes32 topUpId,
        Terms calldata t,
        uint256 extraCostWei,
        uint32 extraRuntimeSec,
        PermitSig calldata permit
    ) external onlyRole(DEPLOYER_ROLE) nonReentrant {
        if (topUpId == bytes32(0)) revert ZeroTopUpId();
        bytes32 usedBy = topUpJobOf[topUpId];
        if (usedBy != bytes32(0)) revert TopUpIdUsed(topUpId, usedBy);
        Job storage job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert UnknownJob(jobId);
        if (status != Status.Open) revert NotOpen(jobId, status);
        if (job.commitment != _commit(t.requester, t.provider, t.costWei)) revert TermsMismatch(jobId);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (extraCostWei == 0) revert ZeroCost(jobId);
        if (extraRuntimeSec == 0) revert ZeroExtension(jobId);
        if (extraRuntimeSec > MAX_TOP_UP_EXTENSION_SEC) {
            revert ExtensionAboveBound(jobId, extraRuntimeSec, MAX_TOP_UP_EXTENSION_SEC);
        }
        Extension storage ext = _extensions[jobId];
        uint256 totalSec = uint256(ext.extendedSec) + extraRuntimeSec;
        if (totalSec > MAX_TOTAL_EXTENSION_SEC) revert TotalExtensionAboveBound(jobId, totalSec, MAX_TOTAL_EXTENSION_SEC);
        if (ext.topUps >= MAX_TOP_UPS_PER_JOB) revert TooManyTopUps(jobId, MAX_TOP_UPS_PER_JOB);
        _permit(jobId, t.requester, extraCostWei, permit);

        uint256 newCostWei = t.costWei + extraCostWei;
        uint40 newDeadline = SafeCast.toUint40(uint256(job.deadline) + extraRuntimeSec);
        job.commitment = _commit(t.requester, t.provider, newCostWei);
        job.deadline = newDeadline;
        ext.extendedSec = uint40(totalSec);
        ext.topUps += 1;
        topUpJobOf[topUpId] = jobId;
        emit ComputeContractToppedUp(
            jobId, topUpId, extraCostWei, newCostWei, extraRuntimeSec, newDeadline, uint64(block.timestamp)
        );
        token.safeTransferFrom(t.requester, address(this), extraCostWei);
    }

    // ---------------------------------------------------------------- reassign

    /// @notice Move an open job's escrow to another provider for its next attempt (re-match on
    ///         failure: the first node went offline or gave the job up), relayed by the platform
    ///         like open. Nothing is paid to the old provider; the requester pays nothing more: the
    ///         new cost is at most the escrow held (`CostAboveEscrow`), and the difference goes back
    ///         to the requester now. Only while Open (not disputed, not settled: `NotOpen`,
    ///         `UnknownJob`) and `block.timestamp <= deadline` (`DeadlinePassed`: past it the job is
    ///         refunded instead). `oldTerms` are the job's as they are now (`TermsMismatch`);
    ///         `newTerms` keep its requester (`RequesterChanged`) and name another provider
    ///         (`SameProvider`, `ZeroAddress`) at a cost > 0 (`ZeroCost`). `attempt` is the attempt
    ///         this reassign starts: exactly one more than the job's attempts so far
    ///         (`AttemptOutOfOrder`: a relayer's retry of a reassign that landed reverts, and reads
    ///         the event instead), at most MAX_ATTEMPTS_PER_JOB (`TooManyAttempts`). The new
    ///         deadline is after now (`DeadlineInPast`) and at most MAX_ATTEMPT_DEADLINE_SEC from
    ///         now (`DeadlineAboveBound`).
    function reassign(bytes32 jobId, uint8 attempt, Terms calldata oldTerms, Terms calldata newTerms, uint40 newDeadline)
        external
        onlyRole(DEPLOYER_ROLE)
        nonReentrant
    {
        Job storage job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert UnknownJob(jobId);
        if (status != Status.Open) revert NotOpen(jobId, status);
        uint256 expectedAttempt = uint256(_reassigns[jobId]) + 2;
        if (attempt != expectedAttempt) revert AttemptOutOfOrder(jobId, attempt, expectedAttempt);
        if (attempt > MAX_ATTEMPTS_PER_JOB) revert TooManyAttempts(jobId, MAX_ATTEMPTS_PER_JOB);
        if (job.commitment != _commit(oldTerms.requester, oldTerms.provider, oldTerms.costWei)) revert TermsMismatch(jobId);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline, block.timestamp);
        if (newTerms.requester != oldTerms.requester) revert RequesterChanged(jobId);
        if (newTerms.provider == address(0)) revert ZeroAddress();
        if (newTerms.provider == oldTerms.provider) revert SameProvider(jobId, newTerms.provider);
        if (newTerms.costWei == 0) revert ZeroCost(jobId);
        if (newTerms.costWei > oldTerms.costWei) revert CostAboveEscrow(jobId, newTerms.costWei, oldTerms.costWei);
        if (newDeadline <= block.timestamp) revert DeadlineInPast(jobId, newDeadline, block.timestamp);
        uint256 maxDeadline = block.timestamp + MAX_ATTEMPT_DEADLINE_SEC;
        if (newDeadline > maxDeadline) revert DeadlineAboveBound(jobId, newDeadline, maxDeadline);

        uint256 returnedWei = oldTerms.costWei - newTerms.costWei;
        job.commitment = _commit(newTerms.requester, newTerms.provider, newTerms.costWei);
        job.deadline = newDeadline;
        _reassigns[jobId] = uint8(attempt - 1);
        emit ComputeContractReassigned(
            jobId, attempt, oldTerms.provider, newTerms.provider, newTerms.costWei, returnedWei, newDeadline, uint64(block.timestamp)
        );
        if (returnedWei != 0) token.safeTransfer(oldTerms.requester, returnedWei);
    }

    // ---------------------------------------------------------------- settle

    /// @notice Pay the provider: only for the result and proof its node key signed for this job.
    function release(
        bytes32 jobId,
        Terms calldata t,
        bytes32 resultHash,
        bytes32 proofHash,
        bytes calldata providerSignature
    ) external onlyRole(SETTLEMENT_ROLE) nonReentrant {
        Job storage job = _jobs[jobId];
        _requireSettleable(jobId, job, t);
        if (resultHash == bytes32(0)) revert ZeroResultHash(jobId);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(RESULT_TYPEHASH, jobId, resultHash, proofHash)));
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, providerSignature);
        if (err != ECDSA.RecoverError.NoError || recovered != t.provider) {
            revert InvalidProviderSignature(jobId, recovered, t.provider);
        }
        job.status = Status.Released;
        emit ComputeContractReleased(jobId, t.provider, t.costWei, resultHash, proofHash, msg.sender, uint64(block.timestamp));
        token.safeTransfer(t.provider, t.costWei);
    }

    /// @notice Pay the providers of many jobs in one transaction (settlement under load). Each item
    ///         is checked as `release` checks it; one that `release` would revert (unknown job,
    ///         already released or refunded, terms other than committed, zero result hash, a
    ///         signature that is not its provider's) is skipped with ComputeContractReleaseSkipped
    ///         and its reason, never reverting the batch: one bad item does not hold back the
    ///         others, and a retried batch pays nothing twice (its released items are skipped as
    ///         AlreadyReleased). A released item does what `release` does: its status, its
    ///         ComputeContractReleased event, its provider paid its cost in a transfer of its own (so
    ///         every release event has its transfer, as the audit's books expect). A job id repeated
    ///         in a batch is released once.
    /// @return released how many items were released
    function releaseBatch(ReleaseItem[] calldata items)
        external
        onlyRole(SETTLEMENT_ROLE)
        nonReentrant
        returns (uint256 released)
    {
        uint256 n = items.length;
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        for (uint256 i; i < n; ++i) {
            ReleaseItem calldata item = items[i];
            Job storage job = _jobs[item.jobId];
            ReleaseSkip skip = _releaseSkip(job, item);
            if (skip != ReleaseSkip.None) {
                emit ComputeContractReleaseSkipped(item.jobId, skip);
                continue;
            }
            address provider = item.terms.provider;
            uint256 costWei = item.terms.costWei;
            job.status = Status.Released;
            emit ComputeContractReleased(
                item.jobId, provider, costWei, item.resultHash, item.proofHash, msg.sender, uint64(block.timestamp)
            );
            unchecked {
                ++released;
            }
            // Effects before the interaction; the token is fixed at construction and the guard
            // blocks re-entry anyway.
            token.safeTransfer(provider, costWei);
        }
    }

    /// @notice Return the escrow to the requester.
    ///         Open: the settlement role after the deadline; anyone after deadline + publicRefundDelaySec.
    ///         Disputed: the settlement role at any time (decided for the requester); anyone after the
    ///         dispute window. Anyone may call because the money can only go to the committed
    ///         requester: a stalled platform must never lock a requester's escrow.
    function refund(bytes32 jobId, Terms calldata t) external nonReentrant {
        Job storage job = _jobs[jobId];
        Status status = _requireSettleable(jobId, job, t);
        bool isSettlement = hasRole(SETTLEMENT_ROLE, msg.sender);
        uint256 refundableAt;
        if (status == Status.Open) {
            refundableAt = isSettlement ? uint256(job.deadline) + 1 : uint256(job.deadline) + publicRefundDelaySec + 1;
        } else {
            refundableAt = isSettlement ? 0 : uint256(job.deadline) + 1;
        }
        if (block.timestamp < refundableAt) revert DeadlineNotReached(jobId, refundableAt, block.timestamp);
        job.status = Status.Refunded;
        emit ComputeContractRefunded(jobId, t.requester, t.costWei, msg.sender, uint64(block.timestamp));
        token.safeTransfer(t.requester, t.costWei);
    }

    /// @notice Put an open job on hold: it then ends by release (with the provider's signature), by a
    ///         refund from the settlement role, or by anyone's refund after the dispute window.
    function dispute(bytes32 jobId, bytes32 reasonHash) external onlyRole(SETTLEMENT_ROLE) {
        Job storage job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert UnknownJob(jobId);
        if (status != Status.Open) revert NotOpen(jobId, status);
        uint40 decideBy = uint40(block.timestamp + disputeWindowSec);
        job.deadline = decideBy;
        job.status = Status.Disputed;
        emit ComputeContractDisputed(jobId, reasonHash, decideBy, uint64(block.timestamp));
    }

    function _requireSettleable(bytes32 jobId, Job storage job, Terms calldata t) private view returns (Status status) {
        status = job.status;
        if (status == Status.None) revert UnknownJob(jobId);
        if (status != Status.Open && status != Status.Disputed) revert AlreadySettled(jobId, status);
        if (job.commitment != _commit(t.requester, t.provider, t.costWei)) revert TermsMismatch(jobId);
    }

    /// @dev `release`'s checks without the revert: why the item cannot be released, or None.
    function _releaseSkip(Job storage job, ReleaseItem calldata item) private view returns (ReleaseSkip) {
        Status status = job.status;
        if (status == Status.None) return ReleaseSkip.UnknownJob;
        if (status == Status.Released) return ReleaseSkip.AlreadyReleased;
        if (status == Status.Refunded) return ReleaseSkip.AlreadyRefunded;
        Terms calldata t = item.terms;
        if (job.commitment != _commit(t.requester, t.provider, t.costWei)) return ReleaseSkip.TermsMismatch;
        if (item.resultHash == bytes32(0)) return ReleaseSkip.ZeroResultHash;
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(RESULT_TYPEHASH, item.jobId, item.resultHash, item.proofHash)));
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, item.providerSignature);
        if (err != ECDSA.RecoverError.NoError || recovered != t.provider) return ReleaseSkip.InvalidProviderSignature;
        return ReleaseSkip.None;
    }

    function _commit(address requester, address provider, uint256 costWei) private pure returns (uint208) {
        return uint208(uint256(keccak256(abi.encode(requester, provider, costWei))));
    }

    // ---------------------------------------------------------------- views

    function getJob(bytes32 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice Seconds until an open job's deadline (its escrow's runway); 0 at or past it, and 0
    ///         for a job that is not Open (unknown, disputed, released, refunded).
    function runway(bytes32 jobId) external view returns (uint256) {
        Job storage job = _jobs[jobId];
        if (job.status != Status.Open || block.timestamp >= job.deadline) return 0;
        return job.deadline - block.timestamp;
    }

    /// @notice What the top-ups of a job have added to its deadline so far, and how many there were.
    function extensionOf(bytes32 jobId) external view returns (Extension memory) {
        return _extensions[jobId];
    }

    /// @notice The job's current attempt: 1 from its open, one more per reassign; 0 for an unknown job.
    function attemptOf(bytes32 jobId) external view returns (uint256) {
        if (_jobs[jobId].status == Status.None) return 0;
        return uint256(_reassigns[jobId]) + 1;
    }

    function statusOf(bytes32 jobId) external view returns (Status) {
        return _jobs[jobId].status;
    }

    /// @notice Whether (requester, provider, costWei) are the terms this job was opened with.
    function matchesTerms(bytes32 jobId, Terms calldata t) external view returns (bool) {
        Job storage job = _jobs[jobId];
        return job.status != Status.None && job.commitment == _commit(t.requester, t.provider, t.costWei);
    }

    /// @notice The EIP-712 digest a provider signs for `release`.
    function resultDigest(bytes32 jobId, bytes32 resultHash, bytes32 proofHash) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RESULT_TYPEHASH, jobId, resultHash, proofHash)));
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ComputeEscrow} from "./ComputeEscrow.sol";

/// @title Compute vaults: requester pre-funding for triggered jobs
/// @notice A requester signs the vault's terms (spending cap per period, period length, the hash of
///         the one job template it may pay for) and funds it. When a trigger fires, the platform
///         draws: the draw opens the job's compute contract in the escrow directly (paid by the
///         vault, refundable to the requester), only for a job of the allowed template (the
///         contract hashes the template's terms itself and holds the job to them) and only within
///         the cap of the current period. The owner may replace the template (a new signature,
///         one use each), pause and resume draws, and close the vault (the remainder goes back to
///         it). Vault money goes nowhere but into an escrow of its own template's jobs, opened for
///         its owner, or back to its owner.
contract ComputeVaults is AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    bytes32 public constant VAULT_TERMS_TYPEHASH = keccak256(
        "VaultTerms(bytes32 vaultId,uint256 capPerPeriodWei,uint64 periodSec,bytes32 templateHash,uint256 depositWei)"
    );
    /// @notice A job template's terms; `templateHash` = keccak256(abi.encode(TEMPLATE_TYPEHASH, specHash,
    ///         budgetWei, expectedRuntimeSec)), the EIP-712 struct hash of JobTemplate.
    ///         specHash: the job's spec (category, requirements with the GPU count, workload, urgency,
    ///         latency, green, deadline), hashed off chain; budgetWei: the most one job may cost;
    ///         expectedRuntimeSec: the job's runtime, restated by every job opened.
    bytes32 public constant TEMPLATE_TYPEHASH =
        keccak256("JobTemplate(bytes32 specHash,uint256 budgetWei,uint32 expectedRuntimeSec)");
    /// @notice What the owner signs to replace the template: good once (nonce), for one vault.
    bytes32 public constant TEMPLATE_UPDATE_TYPEHASH =
        keccak256("TemplateUpdate(bytes32 vaultId,bytes32 templateHash,uint64 nonce)");
    bytes32 public constant VAULT_PAUSE_TYPEHASH = keccak256("VaultPause(bytes32 vaultId,bool paused,uint64 nonce)");
    bytes32 public constant VAULT_CLOSE_TYPEHASH = keccak256("VaultClose(bytes32 vaultId,uint64 nonce)");

    enum VaultStatus {
        None,
        Active,
        Paused,
        Closed
    }

    /// @dev Three slots that a draw touches: (owner, periodSec, status), (periodStart, balance, nonce),
    ///      (spent, cap); the template hash in a fourth.
    struct Vault {
        address owner;
        uint64 periodSec;
        VaultStatus status;
        uint64 periodStart;
        uint128 balanceWei;
        /// @dev The nonce the owner's next signed action must carry; every owner action moves it.
        uint64 nonce;
        uint128 spentInPeriodWei;
        uint128 capPerPeriodWei;
        bytes32 templateHash;
    }

    struct VaultTerms {
        bytes32 vaultId;
        uint256 capPerPeriodWei;
        uint64 periodSec;
        bytes32 templateHash;
        uint256 depositWei;
    }

    /// @notice The template's terms, restated by each draw: the contract hashes them and compares
    ///         with the hash the owner signed, then holds the opened job to them.
    struct JobTemplate {
        bytes32 specHash;
        uint256 budgetWei;
        uint32 expectedRuntimeSec;
    }

    IERC20 public immutable token;
    ComputeEscrow public immutable escrow;
    mapping(bytes32 vaultId => Vault) private _vaults;

    error ZeroAddress();
    error ZeroAmount();
    error InvalidTerms(bytes32 vaultId);
    error VaultExists(bytes32 vaultId);
    error UnknownVault(bytes32 vaultId);
    error VaultIsPaused(bytes32 vaultId);
    error VaultIsClosed(bytes32 vaultId);
    error InvalidOwnerSignature(bytes32 vaultId, address recovered, address owner);
    error PermitFailed(address owner, uint256 allowanceWei, uint256 neededWei);
    error NotVaultOwner(bytes32 vaultId, address caller);
    error TemplateNotAllowed(bytes32 vaultId, bytes32 templateHash);
    error OverTemplateBudget(bytes32 vaultId, uint256 costWei, uint256 budgetWei);
    error TemplateRuntimeMismatch(bytes32 vaultId, uint32 expectedRuntimeSec, uint32 templateRuntimeSec);
    error CapExceeded(bytes32 vaultId, uint256 spentWei, uint256 amountWei, uint256 capWei, uint256 periodEndsAt);
    error InsufficientVaultBalance(bytes32 vaultId, uint256 balanceWei, uint256 amountWei);

    event VaultOpened(
        bytes32 indexed vaultId,
        address indexed owner,
        uint256 capPerPeriodWei,
        uint64 periodSec,
        bytes32 templateHash,
        uint256 depositWei,
        uint64 at
    );
    event VaultDeposited(bytes32 indexed vaultId, uint256 amountWei, uint256 balanceWei, uint64 at);
    event VaultWithdrawn(bytes32 indexed vaultId, address indexed owner, uint256 amountWei, uint256 balanceWei, uint64 at);
    event VaultDrawn(
        bytes32 indexed vaultId,
        bytes32 indexed jobId,
        bytes32 templateHash,
        uint256 amountWei,
        uint256 spentInPeriodWei,
        uint64 periodStart,
        uint256 balanceWei,
        uint64 at
    );
    event VaultTemplateUpdated(bytes32 indexed vaultId, bytes32 previousTemplateHash, bytes32 templateHash, uint64 nonce, uint64 at);
    event VaultPausedSet(bytes32 indexed vaultId, bool paused, uint64 nonce, uint64 at);
    event VaultClosed(bytes32 indexed vaultId, address indexed owner, uint256 remainderWei, uint64 nonce, uint64 at);

    constructor(IERC20 token_, ComputeEscrow escrow_, address admin, address platform) EIP712("StarMiner Compute Vaults", "1") {
        if (address(token_) == address(0) || address(escrow_) == address(0) || admin == address(0) || platform == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        escrow = escrow_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PLATFORM_ROLE, platform);
        // The escrow pulls each draw; it can only do so through openFunded, called by this contract.
        token_.forceApprove(address(escrow_), type(uint256).max);
    }

    // ---------------------------------------------------------------- open, fund

    /// @notice Open a vault on terms its owner signed, funded by the owner's permit. Anyone may relay.
    ///         A vault id is used once: a closed vault keeps its record, so its terms cannot be replayed.
    function openVault(VaultTerms calldata t, address owner, bytes calldata ownerSignature, ComputeEscrow.PermitSig calldata permit)
        external
        nonReentrant
    {
        if (owner == address(0)) revert ZeroAddress();
        if (
            t.vaultId == bytes32(0) || t.capPerPeriodWei == 0 || t.periodSec == 0 || t.capPerPeriodWei > type(uint128).max
                || t.templateHash == bytes32(0)
        ) {
            revert InvalidTerms(t.vaultId);
        }
        Vault storage v = _vaults[t.vaultId];
        if (v.owner != address(0)) revert VaultExists(t.vaultId);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(VAULT_TERMS_TYPEHASH, t.vaultId, t.capPerPeriodWei, t.periodSec, t.templateHash, t.depositWei))
        );
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, ownerSignature);
        if (err != ECDSA.RecoverError.NoError || recovered != owner) revert InvalidOwnerSignature(t.vaultId, recovered, owner);

        v.owner = owner;
        v.periodSec = t.periodSec;
        v.status = VaultStatus.Active;
        v.periodStart = uint64(block.timestamp);
        v.capPerPeriodWei = uint128(t.capPerPeriodWei);
        v.templateHash = t.templateHash;
        emit VaultOpened(t.vaultId, owner, t.capPerPeriodWei, t.periodSec, t.templateHash, t.depositWei, uint64(block.timestamp));
        if (t.depositWei > 0) _deposit(t.vaultId, v, t.depositWei, permit);
    }

    /// @notice Add the owner's tokens (by its permit, or an allowance when permit.deadline is 0). Anyone may relay:
    ///         the tokens only move from the owner into the owner's vault. Not into a closed vault.
    function deposit(bytes32 vaultId, uint256 amountWei, ComputeEscrow.PermitSig calldata permit) external nonReentrant {
        Vault storage v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
        if (v.status == VaultStatus.Closed) revert VaultIsClosed(vaultId);
        _deposit(vaultId, v, amountWei, permit);
    }

    function _deposit(bytes32 vaultId, Vault storage v, uint256 amountWei, ComputeEscrow.PermitSig calldata permit) private {
        if (amountWei == 0) revert ZeroAmount();
        address owner = v.owner;
        if (permit.deadline != 0) {
            try IERC20Permit(address(token)).permit(owner, address(this), amountWei, permit.deadline, permit.v, permit.r, permit.s) {} catch {
                uint256 allowanceWei = token.allowance(owner, address(this));
                if (allowanceWei < amountWei) revert PermitFailed(owner, allowanceWei, amountWei);
            }
        }
        uint256 balance = uint256(v.balanceWei) + amountWei;
        if (balance > type(uint128).max) revert InvalidTerms(vaultId);
        v.balanceWei = uint128(balance);
        emit VaultDeposited(vaultId, amountWei, balance, uint64(block.timestamp));
        token.safeTransferFrom(owner, address(this), amountWei);
    }

    // ---------------------------------------------------------------- back to the owner

    /// @notice Return vault money to its owner: by the owner, or by the platform on the owner's behalf
    ///         (custodial owners hold no ether). It can go to the owner only.
    function withdraw(bytes32 vaultId, uint256 amountWei) external nonReentrant {
        Vault storage v = _vaults[vaultId];
        address owner = v.owner;
        if (owner == address(0)) revert UnknownVault(vaultId);
        if (msg.sender != owner && !hasRole(PLATFORM_ROLE, msg.sender)) revert NotVaultOwner(vaultId, msg.sender);
        if (amountWei == 0) revert ZeroAmount();
        if (v.balanceWei < amountWei) revert InsufficientVaultBalance(vaultId, v.balanceWei, amountWei);
        v.balanceWei -= uint128(amountWei);
        emit VaultWithdrawn(vaultId, owner, amountWei, v.balanceWei, uint64(block.timestamp));
        token.safeTransfer(owner, amountWei);
    }

    /// @notice Close for good: no more draws or deposits, the whole balance back to the owner. By the
    ///         owner itself (empty signature), or anyone relaying the owner's VaultClose signature.
    function close(bytes32 vaultId, bytes calldata ownerSignature) external nonReentrant {
        Vault storage v = _requireOpenVault(vaultId);
        uint64 nonce = v.nonce;
        _authorizeOwner(vaultId, v, keccak256(abi.encode(VAULT_CLOSE_TYPEHASH, vaultId, nonce)), ownerSignature);
        uint256 remainderWei = v.balanceWei;
        address owner = v.owner;
        v.status = VaultStatus.Closed;
        v.balanceWei = 0;
        emit VaultClosed(vaultId, owner, remainderWei, nonce, uint64(block.timestamp));
        if (remainderWei > 0) token.safeTransfer(owner, remainderWei);
    }

    // ---------------------------------------------------------------- owner's edits

    /// @notice Replace the template the vault pays for, on the owner's TemplateUpdate signature (or by
    ///         the owner itself with an empty signature). The period's spending carries over: a new
    ///         template does not reset the cap.
    function updateTemplate(bytes32 vaultId, bytes32 newTemplateHash, bytes calldata ownerSignature) external {
        Vault storage v = _requireOpenVault(vaultId);
        if (newTemplateHash == bytes32(0)) revert InvalidTerms(vaultId);
        uint64 nonce = v.nonce;
        _authorizeOwner(
            vaultId, v, keccak256(abi.encode(TEMPLATE_UPDATE_TYPEHASH, vaultId, newTemplateHash, nonce)), ownerSignature
        );
        bytes32 previous = v.templateHash;
        v.templateHash = newTemplateHash;
        emit VaultTemplateUpdated(vaultId, previous, newTemplateHash, nonce, uint64(block.timestamp));
    }

    /// @notice Pause (no draws) or resume, on the owner's VaultPause signature or by the owner itself.
    function setPaused(bytes32 vaultId, bool paused, bytes calldata ownerSignature) external {
        Vault storage v = _requireOpenVault(vaultId);
        uint64 nonce = v.nonce;
        _authorizeOwner(vaultId, v, keccak256(abi.encode(VAULT_PAUSE_TYPEHASH, vaultId, paused, nonce)), ownerSignature);
        v.status = paused ? VaultStatus.Paused : VaultStatus.Active;
        emit VaultPausedSet(vaultId, paused, nonce, uint64(block.timestamp));
    }

    function _requireOpenVault(bytes32 vaultId) private view returns (Vault storage v) {
        v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
        if (v.status == VaultStatus.Closed) revert VaultIsClosed(vaultId);
    }

    /// @dev The owner acts: itself (empty signature), or by its EIP-712 signature over `structHash`,
    ///      which carries the vault's current nonce. Either way the nonce moves, so a signature works
    ///      once and an owner's own action voids any signature it handed out before.
    function _authorizeOwner(bytes32 vaultId, Vault storage v, bytes32 structHash, bytes calldata ownerSignature) private {
        address owner = v.owner;
        if (ownerSignature.length == 0) {
            if (msg.sender != owner) revert NotVaultOwner(vaultId, msg.sender);
        } else {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(_hashTypedDataV4(structHash), ownerSignature);
            if (err != ECDSA.RecoverError.NoError || recovered != owner) revert InvalidOwnerSignature(vaultId, recovered, owner);
        }
        unchecked {
            ++v.nonce; // 2^64 owner actions: never wraps
        }
    }

    // ---------------------------------------------------------------- draw

    /// @notice A trigger fired: open the job's compute contract, paid from the vault. Only for a job
    ///         of the vault's template: `t` must hash to the template the owner signed, and the job
    ///         restates its runtime and costs at most its budget. Only within the current period's
    ///         cap and the balance, only while the vault is active. `p.requester` must be the
    ///         vault's owner (refunds go back to it).
    function draw(bytes32 vaultId, JobTemplate calldata t, ComputeEscrow.OpenParams calldata p)
        external
        onlyRole(PLATFORM_ROLE)
        nonReentrant
    {
        Vault storage v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
        if (v.status != VaultStatus.Active) {
            if (v.status == VaultStatus.Paused) revert VaultIsPaused(vaultId);
            revert VaultIsClosed(vaultId);
        }
        if (p.requester != v.owner) revert NotVaultOwner(vaultId, p.requester);
        bytes32 templateHash = _templateHash(t);
        if (templateHash != v.templateHash) revert TemplateNotAllowed(vaultId, templateHash);
        uint256 amountWei = p.costWei;
        if (amountWei > t.budgetWei) revert OverTemplateBudget(vaultId, amountWei, t.budgetWei);
        if (p.expectedRuntimeSec != t.expectedRuntimeSec) {
            revert TemplateRuntimeMismatch(vaultId, p.expectedRuntimeSec, t.expectedRuntimeSec);
        }
        (uint64 periodStart, uint256 spent) = _currentPeriod(v);
        uint256 cap = v.capPerPeriodWei;
        // spent <= cap always (the check below keeps it so), and this form cannot overflow.
        if (amountWei > cap - spent) {
            revert CapExceeded(vaultId, spent, amountWei, cap, uint256(periodStart) + v.periodSec);
        }
        if (v.balanceWei < amountWei) revert InsufficientVaultBalance(vaultId, v.balanceWei, amountWei);
        v.periodStart = periodStart;
        v.spentInPeriodWei = uint128(spent + amountWei);
        v.balanceWei -= uint128(amountWei);
        emit VaultDrawn(vaultId, p.jobId, templateHash, amountWei, spent + amountWei, periodStart, v.balanceWei, uint64(block.timestamp));
        escrow.openFunded(p);
    }

    /// @dev The period that contains now: periods run back to back from the vault's opening, each
    ///      `periodSec` long, and what was spent in an earlier one does not count.
    function _currentPeriod(Vault storage v) private view returns (uint64 periodStart, uint256 spentWei) {
        periodStart = v.periodStart;
        uint64 periodSec = v.periodSec;
        if (block.timestamp < uint256(periodStart) + periodSec) return (periodStart, v.spentInPeriodWei);
        uint256 elapsedPeriods = (block.timestamp - periodStart) / periodSec;
        periodStart = uint64(periodStart + elapsedPeriods * periodSec);
        spentWei = 0;
    }

    function _templateHash(JobTemplate calldata t) private pure returns (bytes32) {
        return keccak256(abi.encode(TEMPLATE_TYPEHASH, t.specHash, t.budgetWei, t.expectedRuntimeSec));
    }

    // ---------------------------------------------------------------- views

    function getVault(bytes32 vaultId) external view returns (Vault memory) {
        return _vaults[vaultId];
    }

    /// @notice The current period as a draw now would see it: its start, what was spent in it, what is left under the cap.
    function currentPeriod(bytes32 vaultId) external view returns (uint64 periodStart, uint256 spentWei, uint256 remainingCapWei) {
        Vault storage v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
        (periodStart, spentWei) = _currentPeriod(v);
        remainingCapWei = v.capPerPeriodWei - spentWei;
    }

    function templateHashOf(JobTemplate calldata t) external pure returns (bytes32) {
        return _templateHash(t);
    }

    function vaultTermsDigest(VaultTerms calldata t) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VAULT_TERMS_TYPEHASH, t.vaultId, t.capPerPeriodWei, t.periodSec, t.templateHash, t.depositWei))
        );
    }
}

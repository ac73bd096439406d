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
///         vault, refundable to the requester), only for the allowed template and only within the
///         cap of the current period. Vault money can go nowhere else but back to its owner.
contract ComputeVaults is AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    bytes32 public constant VAULT_TERMS_TYPEHASH = keccak256(
        "VaultTerms(bytes32 vaultId,uint256 capPerPeriodWei,uint64 periodSec,bytes32 templateHash,uint256 depositWei)"
    );

    struct Vault {
        address owner;
        uint64 periodSec;
        uint64 periodStart;
        uint128 balanceWei;
        uint128 spentInPeriodWei;
        uint256 capPerPeriodWei;
        bytes32 templateHash;
    }

    struct VaultTerms {
        bytes32 vaultId;
        uint256 capPerPeriodWei;
        uint64 periodSec;
        bytes32 templateHash;
        uint256 depositWei;
    }

    IERC20 public immutable token;
    ComputeEscrow public immutable escrow;
    mapping(bytes32 vaultId => Vault) private _vaults;

    error ZeroAddress();
    error ZeroAmount();
    error InvalidTerms(bytes32 vaultId);
    error VaultExists(bytes32 vaultId);
    error UnknownVault(bytes32 vaultId);
    error InvalidOwnerSignature(bytes32 vaultId, address recovered, address owner);
    error PermitFailed(address owner, uint256 allowanceWei, uint256 neededWei);
    error NotVaultOwner(bytes32 vaultId, address caller);
    error TemplateNotAllowed(bytes32 vaultId, bytes32 templateHash);
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
        uint256 amountWei,
        uint256 spentInPeriodWei,
        uint64 periodStart,
        uint256 balanceWei,
        uint64 at
    );

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

    /// @notice Open a vault on terms its owner signed, funded by the owner's permit. Anyone may relay.
    function openVault(VaultTerms calldata t, address owner, bytes calldata ownerSignature, ComputeEscrow.PermitSig calldata permit)
        external
        nonReentrant
    {
        if (owner == address(0)) revert ZeroAddress();
        if (t.vaultId == bytes32(0) || t.capPerPeriodWei == 0 || t.periodSec == 0 || t.capPerPeriodWei > type(uint128).max) {
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
        v.periodStart = uint64(block.timestamp);
        v.capPerPeriodWei = t.capPerPeriodWei;
        v.templateHash = t.templateHash;
        emit VaultOpened(t.vaultId, owner, t.capPerPeriodWei, t.periodSec, t.templateHash, t.depositWei, uint64(block.timestamp));
        if (t.depositWei > 0) _deposit(t.vaultId, v, t.depositWei, permit);
    }

    /// @notice Add the owner's tokens (by its permit, or an allowance when permit.deadline is 0). Anyone may relay:
    ///         the tokens only move from the owner into the owner's vault.
    function deposit(bytes32 vaultId, uint256 amountWei, ComputeEscrow.PermitSig calldata permit) external nonReentrant {
        Vault storage v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
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

    /// @notice A trigger fired: open the job's compute contract, paid from the vault, for the
    ///         vault's template only and within the current period's cap. `p.requester` must be
    ///         the vault's owner (refunds go back to it).
    function draw(bytes32 vaultId, bytes32 templateHash, ComputeEscrow.OpenParams calldata p)
        external
        onlyRole(PLATFORM_ROLE)
        nonReentrant
    {
        Vault storage v = _vaults[vaultId];
        if (v.owner == address(0)) revert UnknownVault(vaultId);
        if (p.requester != v.owner) revert NotVaultOwner(vaultId, p.requester);
        if (templateHash != v.templateHash) revert TemplateNotAllowed(vaultId, templateHash);
        uint256 amountWei = p.costWei;
        uint64 periodStart = v.periodStart;
        uint256 spent = v.spentInPeriodWei;
        if (block.timestamp >= uint256(periodStart) + v.periodSec) {
            // Roll forward to the period that contains now.
            uint256 elapsedPeriods = (block.timestamp - periodStart) / v.periodSec;
            periodStart = uint64(periodStart + elapsedPeriods * v.periodSec);
            spent = 0;
        }
        if (spent + amountWei > v.capPerPeriodWei) {
            revert CapExceeded(vaultId, spent, amountWei, v.capPerPeriodWei, uint256(periodStart) + v.periodSec);
        }
        if (v.balanceWei < amountWei) revert InsufficientVaultBalance(vaultId, v.balanceWei, amountWei);
        v.periodStart = periodStart;
        v.spentInPeriodWei = uint128(spent + amountWei);
        v.balanceWei -= uint128(amountWei);
        emit VaultDrawn(vaultId, p.jobId, amountWei, spent + amountWei, periodStart, v.balanceWei, uint64(block.timestamp));
        escrow.openFunded(p);
    }

    function getVault(bytes32 vaultId) external view returns (Vault memory) {
        return _vaults[vaultId];
    }

    function vaultTermsDigest(VaultTerms calldata t) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VAULT_TERMS_TYPEHASH, t.vaultId, t.capPerPeriodWei, t.periodSec, t.templateHash, t.depositWei))
        );
    }
}

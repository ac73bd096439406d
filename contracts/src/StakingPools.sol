// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ComputeEscrow} from "./ComputeEscrow.sol";

/// @title Staking pools: providers stake AGPU for preferred routing in surges
/// @notice Stake is active until the staker asks to unbond; unbonding stake can be withdrawn after
///         `unbondDelaySec` and stays slashable until then (so unbonding is no escape from a proven
///         failure). The settlement role slashes, and the slashed amount goes to the harmed requester.
///         A slash is bound to a job of the escrow: only for a job the escrow refunded or holds in
///         dispute, only of that job's provider, paid only to that job's requester, at most
///         `MAX_SLASH_BPS_OF_COST` of its cost, and once per job. So a stolen settlement key can
///         move no more than the failed jobs' costs, and only to their requesters.
contract StakingPools is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");
    /// @notice The most one job's slash may take, in basis points of the job's escrowed cost
    ///         (10_000 = the cost itself: the requester gets its escrow back and as much again).
    uint256 public constant MAX_SLASH_BPS_OF_COST = 10_000;
    uint256 private constant BPS = 10_000;

    struct Stake {
        uint128 activeWei;
        uint128 unbondingWei;
        uint64 unbondReadyAt;
    }

    struct PermitSig {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    IERC20 public immutable token;
    uint256 public immutable unbondDelaySec;
    /// @notice The escrow whose jobs a slash must name (its status and committed terms are read).
    ComputeEscrow public immutable escrow;

    mapping(bytes32 poolId => mapping(address staker => Stake)) private _stakes;
    /// @notice Active plus unbonding stake per pool.
    mapping(bytes32 poolId => uint256) public poolTotalWei;
    /// @notice What was slashed for a job (0 = not slashed): at most one slash per job id.
    mapping(bytes32 jobId => uint256) public slashedWei;

    error ZeroAddress();
    error ZeroAmount();
    error AmountTooLarge(uint256 amountWei);
    error PermitFailed(address staker, uint256 allowanceWei, uint256 neededWei);
    error InsufficientStake(bytes32 poolId, address staker, uint256 haveWei, uint256 wantWei);
    error UnbondNotReady(bytes32 poolId, address staker, uint256 readyAt, uint256 nowSec);
    error NothingToWithdraw(bytes32 poolId, address staker);
    error UnknownJob(bytes32 jobId);
    error JobNotSlashable(bytes32 jobId, ComputeEscrow.Status status);
    error TermsMismatch(bytes32 jobId);
    error SlashAboveBound(bytes32 jobId, uint256 amountWei, uint256 maxWei);
    error AlreadySlashed(bytes32 jobId, uint256 slashedWei);

    event Staked(bytes32 indexed poolId, address indexed staker, uint256 amountWei, uint256 activeWei, uint64 at);
    event UnbondRequested(bytes32 indexed poolId, address indexed staker, uint256 amountWei, uint64 readyAt, uint64 at);
    event Withdrawn(bytes32 indexed poolId, address indexed staker, uint256 amountWei, uint64 at);
    event Slashed(
        bytes32 indexed poolId,
        address indexed staker,
        bytes32 indexed jobId,
        uint256 amountWei,
        address recipient,
        uint64 at
    );

    constructor(IERC20 token_, ComputeEscrow escrow_, address admin, address settlement, uint256 unbondDelaySec_) {
        if (address(token_) == address(0) || address(escrow_) == address(0) || admin == address(0) || settlement == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        escrow = escrow_;
        unbondDelaySec = unbondDelaySec_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SETTLEMENT_ROLE, settlement);
    }

    /// @notice Stake the caller's AGPU (needs an allowance).
    function stake(bytes32 poolId, uint256 amountWei) external nonReentrant {
        _stake(poolId, msg.sender, amountWei);
    }

    /// @notice Stake on behalf of `staker` with its permit: anyone may relay, because the tokens
    ///         can only become the staker's own stake (node keys need no ether).
    function stakeWithPermit(bytes32 poolId, address staker, uint256 amountWei, PermitSig calldata permit) external nonReentrant {
        if (staker == address(0)) revert ZeroAddress();
        try IERC20Permit(address(token)).permit(staker, address(this), amountWei, permit.deadline, permit.v, permit.r, permit.s) {} catch {
            uint256 allowanceWei = token.allowance(staker, address(this));
            if (allowanceWei < amountWei) revert PermitFailed(staker, allowanceWei, amountWei);
        }
        _stake(poolId, staker, amountWei);
    }

    function _stake(bytes32 poolId, address staker, uint256 amountWei) private {
        if (amountWei == 0) revert ZeroAmount();
        if (amountWei > type(uint128).max) revert AmountTooLarge(amountWei);
        Stake storage s = _stakes[poolId][staker];
        uint256 active = uint256(s.activeWei) + amountWei;
        if (active > type(uint128).max) revert AmountTooLarge(active);
        s.activeWei = uint128(active);
        poolTotalWei[poolId] += amountWei;
        emit Staked(poolId, staker, amountWei, active, uint64(block.timestamp));
        token.safeTransferFrom(staker, address(this), amountWei);
    }

    /// @notice Move active stake to unbonding; the delay restarts with every request.
    function requestUnbond(bytes32 poolId, uint256 amountWei) external {
        if (amountWei == 0) revert ZeroAmount();
        Stake storage s = _stakes[poolId][msg.sender];
        if (s.activeWei < amountWei) revert InsufficientStake(poolId, msg.sender, s.activeWei, amountWei);
        s.activeWei -= uint128(amountWei);
        s.unbondingWei += uint128(amountWei);
        uint64 readyAt = uint64(block.timestamp + unbondDelaySec);
        s.unbondReadyAt = readyAt;
        emit UnbondRequested(poolId, msg.sender, amountWei, readyAt, uint64(block.timestamp));
    }

    /// @notice Withdraw all unbonded stake once the delay has passed.
    function withdraw(bytes32 poolId) external nonReentrant returns (uint256 amountWei) {
        Stake storage s = _stakes[poolId][msg.sender];
        amountWei = s.unbondingWei;
        if (amountWei == 0) revert NothingToWithdraw(poolId, msg.sender);
        if (block.timestamp < s.unbondReadyAt) revert UnbondNotReady(poolId, msg.sender, s.unbondReadyAt, block.timestamp);
        s.unbondingWei = 0;
        s.unbondReadyAt = 0;
        poolTotalWei[poolId] -= amountWei;
        emit Withdrawn(poolId, msg.sender, amountWei, uint64(block.timestamp));
        token.safeTransfer(msg.sender, amountWei);
    }

    /// @notice Take `amountWei` of the provider's stake in `poolId` (active first, then unbonding)
    ///         to compensate the requester of the failed job `jobId`. `t` restates the job's terms
    ///         (requester, provider, costWei) as committed in the escrow at open (the library reads
    ///         them from the job's ComputeContractOpened event); the escrow checks them.
    function slash(bytes32 poolId, bytes32 jobId, ComputeEscrow.Terms calldata t, uint256 amountWei)
        external
        onlyRole(SETTLEMENT_ROLE)
        nonReentrant
    {
        if (amountWei == 0) revert ZeroAmount();
        ComputeEscrow.Status status = escrow.statusOf(jobId);
        if (status == ComputeEscrow.Status.None) revert UnknownJob(jobId);
        if (status != ComputeEscrow.Status.Refunded && status != ComputeEscrow.Status.Disputed) {
            revert JobNotSlashable(jobId, status);
        }
        if (!escrow.matchesTerms(jobId, t)) revert TermsMismatch(jobId);
        uint256 already = slashedWei[jobId];
        if (already != 0) revert AlreadySlashed(jobId, already);
        uint256 maxWei = slashBoundWei(t.costWei);
        if (amountWei > maxWei) revert SlashAboveBound(jobId, amountWei, maxWei);

        address staker = t.provider;
        Stake storage s = _stakes[poolId][staker];
        uint256 active = s.activeWei;
        uint256 unbonding = s.unbondingWei;
        if (active + unbonding < amountWei) revert InsufficientStake(poolId, staker, active + unbonding, amountWei);
        uint256 fromActive = amountWei <= active ? amountWei : active;
        s.activeWei = uint128(active - fromActive);
        s.unbondingWei = uint128(unbonding - (amountWei - fromActive));
        poolTotalWei[poolId] -= amountWei;
        slashedWei[jobId] = amountWei;
        emit Slashed(poolId, staker, jobId, amountWei, t.requester, uint64(block.timestamp));
        token.safeTransfer(t.requester, amountWei);
    }

    /// @notice The most a job of this cost may be slashed.
    function slashBoundWei(uint256 costWei) public pure returns (uint256) {
        return (costWei * MAX_SLASH_BPS_OF_COST) / BPS;
    }

    function stakeOf(bytes32 poolId, address staker) external view returns (Stake memory) {
        return _stakes[poolId][staker];
    }
}

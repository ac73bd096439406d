// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface IEscrowForAttack {
    struct Terms {
        address requester;
        address provider;
        uint256 costWei;
    }

    function refund(bytes32 jobId, Terms calldata t) external;
}

/// @notice TEST ONLY. A requester contract that, when paid, tries to be paid again by re-entering
///         the escrow (for the same job and for another one), and records how that failed.
contract ReentrantReceiver {
    IEscrowForAttack public immutable escrow;
    bytes32[] public targets;
    IEscrowForAttack.Terms[] private _terms;
    uint256 public attempts;
    uint256 public succeeded;
    bytes[] public errors;

    constructor(IEscrowForAttack escrow_) {
        escrow = escrow_;
    }

    function approve(IERC20 token, uint256 amountWei) external {
        token.approve(address(escrow), amountWei);
    }

    function arm(bytes32[] calldata jobIds, IEscrowForAttack.Terms[] calldata terms) external {
        for (uint256 i; i < jobIds.length; ++i) {
            targets.push(jobIds[i]);
            _terms.push(terms[i]);
        }
    }

    function errorCount() external view returns (uint256) {
        return errors.length;
    }

    function onTokenTransfer(address, uint256) external {
        if (attempts > 0) return; // one round of attempts per test
        attempts++;
        for (uint256 i; i < targets.length; ++i) {
            try escrow.refund(targets[i], _terms[i]) {
                succeeded++;
            } catch (bytes memory err) {
                errors.push(err);
            }
        }
    }
}

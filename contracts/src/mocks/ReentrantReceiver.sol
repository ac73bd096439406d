// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface IEscrowForAttack {
    function refund(bytes32 jobId) external;
    function release(bytes32 jobId, bytes32 resultHash, bytes32 proofHash, bytes calldata signature) external;
}

/// @notice TEST ONLY. A requester (or provider) contract that, when paid, tries to be paid again
///         by re-entering the escrow, and records how that attempt failed.
contract ReentrantReceiver {
    IEscrowForAttack public immutable escrow;
    bytes32 public targetJob;
    bytes32 public secondJob;
    uint256 public attempts;
    bytes public lastError;

    constructor(IEscrowForAttack escrow_) {
        escrow = escrow_;
    }

    function approve(IERC20 token, uint256 amountWei) external {
        token.approve(address(escrow), amountWei);
    }

    function arm(bytes32 jobId, bytes32 otherJobId) external {
        targetJob = jobId;
        secondJob = otherJobId;
    }

    function onTokenTransfer(address, uint256) external {
        if (targetJob == bytes32(0) || attempts > 0) return;
        attempts++;
        try escrow.refund(targetJob) {} catch (bytes memory err) {
            lastError = err;
        }
        if (secondJob != bytes32(0)) {
            try escrow.refund(secondJob) {} catch (bytes memory err2) {
                lastError = bytes.concat(lastError, err2);
            }
        }
    }
}

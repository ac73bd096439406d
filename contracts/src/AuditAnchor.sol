// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Audit anchors of the trade log
/// @notice The platform posts the Merkle root of each contiguous range [fromSeq, toSeq] of the
///         trade log. Leaves are those of the OpenZeppelin merkle-tree library's StandardMerkleTree over
///         ["uint64", "bytes32"] = (stream sequence, hash of the event), so anyone can prove that
///         an event was in the log at that position with a proof built off chain.
contract AuditAnchor is AccessControl {
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    struct Anchor {
        bytes32 root;
        uint64 fromSeq;
        uint64 toSeq;
        uint64 postedAt;
    }

    Anchor[] private _anchors;
    /// @notice The first sequence the next anchor must start at (ranges are contiguous, no gap, no overlap).
    uint64 public nextSeq = 1;

    error ZeroAddress();
    error ZeroRoot();
    error RangeNotContiguous(uint64 expectedFromSeq, uint64 fromSeq);
    error EmptyRange(uint64 fromSeq, uint64 toSeq);
    error UnknownAnchor(uint256 index, uint256 count);

    event AnchorPosted(uint256 indexed index, uint64 fromSeq, uint64 toSeq, bytes32 root, uint64 postedAt);

    constructor(address admin, address anchorer) {
        if (admin == address(0) || anchorer == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHOR_ROLE, anchorer);
    }

    function postAnchor(uint64 fromSeq, uint64 toSeq, bytes32 root) external onlyRole(ANCHOR_ROLE) returns (uint256 index) {
        if (root == bytes32(0)) revert ZeroRoot();
        if (fromSeq != nextSeq) revert RangeNotContiguous(nextSeq, fromSeq);
        if (toSeq < fromSeq) revert EmptyRange(fromSeq, toSeq);
        index = _anchors.length;
        _anchors.push(Anchor({root: root, fromSeq: fromSeq, toSeq: toSeq, postedAt: uint64(block.timestamp)}));
        nextSeq = toSeq + 1;
        emit AnchorPosted(index, fromSeq, toSeq, root, uint64(block.timestamp));
    }

    function anchorCount() external view returns (uint256) {
        return _anchors.length;
    }

    function getAnchor(uint256 index) external view returns (Anchor memory) {
        if (index >= _anchors.length) revert UnknownAnchor(index, _anchors.length);
        return _anchors[index];
    }

    /// @notice The StandardMerkleTree leaf of (seq, eventHash).
    function leafOf(uint64 seq, bytes32 eventHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(seq, eventHash))));
    }

    /// @notice Whether the event with this hash sat at `seq` in the log range of anchor `index`.
    function verifyEvent(uint256 index, uint64 seq, bytes32 eventHash, bytes32[] calldata proof) external view returns (bool) {
        if (index >= _anchors.length) revert UnknownAnchor(index, _anchors.length);
        Anchor storage a = _anchors[index];
        if (seq < a.fromSeq || seq > a.toSeq) return false;
        return MerkleProof.verifyCalldata(proof, a.root, leafOf(seq, eventHash));
    }
}

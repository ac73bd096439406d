// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title AGPU, the StarMiner compute token
/// @notice ERC-20 with EIP-2612 permit (so custodial requester accounts never need ether to fund an
///         escrow), 18 decimals, a hard supply cap, and minting restricted to MINTER_ROLE (the dev faucet).
/// @dev The faucet mints with `mintOnce`: each request carries a reference (`ref`, derived off chain
///      from the org and its request id), and a reference mints at most once, ever. A second call
///      with a used reference reverts `MintRefUsed(ref)`, so a retry after any crash or timeout, or
///      a second sender racing the first, can never mint twice; the caller reads `mintBlockOf(ref)`
///      and the `MintedOnce` event to find the mint that did happen.
contract AgpuToken is ERC20, ERC20Capped, ERC20Permit, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice The block in which a reference was minted; 0 when it never was.
    mapping(bytes32 ref => uint256 blockNumber) public mintBlockOf;

    error ZeroAddress();
    error ZeroRef();
    error MintRefUsed(bytes32 ref);

    event Minted(address indexed minter, address indexed to, uint256 amountWei);
    event MintedOnce(bytes32 indexed ref, address indexed to, uint256 amountWei);

    constructor(address admin, address minter, uint256 capWei)
        ERC20("StarMiner AGPU", "AGPU")
        ERC20Capped(capWei)
        ERC20Permit("StarMiner AGPU")
    {
        if (admin == address(0) || minter == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Mint under the cap (reverts with ERC20ExceededCap beyond it).
    function mint(address to, uint256 amountWei) external onlyRole(MINTER_ROLE) {
        _mint(to, amountWei);
        emit Minted(msg.sender, to, amountWei);
    }

    /// @notice Mint under the cap, once per `ref`: reverts `MintRefUsed(ref)` when `ref` was minted
    ///         before (whatever its recipient or amount), `ZeroRef` for the zero reference.
    function mintOnce(address to, uint256 amountWei, bytes32 ref) external onlyRole(MINTER_ROLE) {
        if (ref == bytes32(0)) revert ZeroRef();
        if (mintBlockOf[ref] != 0) revert MintRefUsed(ref);
        mintBlockOf[ref] = block.number;
        _mint(to, amountWei);
        emit Minted(msg.sender, to, amountWei);
        emit MintedOnce(ref, to, amountWei);
    }

    /// @notice Whether `ref` was minted.
    function mintedRefs(bytes32 ref) external view returns (bool) {
        return mintBlockOf[ref] != 0;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}

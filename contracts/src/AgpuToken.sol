// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title AGPU, the StarMiner compute token
/// @notice ERC-20 with EIP-2612 permit (so custodial requester accounts never need ether to fund an
///         escrow), 18 decimals, a hard supply cap, and minting restricted to MINTER_ROLE (the dev faucet).
contract AgpuToken is ERC20, ERC20Capped, ERC20Permit, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    error ZeroAddress();

    event Minted(address indexed minter, address indexed to, uint256 amountWei);

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

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface ITokenReceiverHook {
    function onTokenTransfer(address from, uint256 amountWei) external;
}

/// @notice TEST ONLY. A hostile ERC-20 that hands control to every contract receiving tokens
///         (ERC-777 style), so tests can try to re-enter the escrow while it pays out.
contract HookToken is ERC20 {
    constructor() ERC20("Hook", "HOOK") {}

    function mint(address to, uint256 amountWei) external {
        _mint(to, amountWei);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (to.code.length > 0 && from != address(0)) {
            // Ignore receivers without the hook (the escrow itself); let hooks run arbitrary code.
            (bool ok,) = to.call(abi.encodeCall(ITokenReceiverHook.onTokenTransfer, (from, value)));
            ok;
        }
    }
}

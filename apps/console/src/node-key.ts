/** A node key as typed (a 32-byte hex private key, with or without 0x), checked before use. */
export type NodeKeyCheck = { ok: true; key: `0x${string}` } | { ok: false; reason: string };

export function readNodeKey(text: string): NodeKeyCheck {
  const t = text.trim();
  const hex = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return { ok: false, reason: 'a node key is 32 bytes as 64 hex digits (0x...)' };
  if (/^0+$/.test(hex)) return { ok: false, reason: 'the zero key is not a key' };
  return { ok: true, key: `0x${hex.toLowerCase()}` };
}

/** A chain id as typed: a positive integer. */
export function readChainId(text: string): number | undefined {
  const t = text.trim();
  if (!/^[1-9][0-9]{0,15}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A fresh Idempotency-Key (`sdk-` + a UUIDv4): sent with a write the caller gave none for, so that
 * the SDK's own retry of it finds the first attempt instead of doing it twice. Made with
 * `crypto.getRandomValues`, which browsers offer outside secure contexts too (randomUUID they do not).
 */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `sdk-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

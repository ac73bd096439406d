/** Long polls for assignments one gateway process holds open at most (ASSIGNMENT_WAITS_MAX); beyond, a poll answers at once. */
export const ASSIGNMENT_WAITS_MAX_DEFAULT = 10_000;
export const ASSIGNMENT_WAITS_MAX_LIMIT = 100_000;
/**
 * A long poll for assignments is also the node's heartbeat, sent on to the registry when the
 * node's last one is at least this old: every long poll of an idle agent (they last 8 s), not every
 * quick poll of a busy one. An idle agent then makes one signed call per poll instead of a poll
 * and a heartbeat.
 */
export const POLL_HEARTBEAT_EVERY_MS = 5_000;
/** Nodes whose last poll heartbeat one gateway process remembers; past it, the oldest is forgotten (its next poll beats again). */
export const POLL_HEARTBEAT_NODES_MAX = 100_000;
/**
 * Poll heartbeats a gateway process gathers before it sends them to the registry as one
 * `cmd.registry.heartbeats` (issue 13): at most this long, or until LIMITS.heartbeatsPerCommandMax
 * are waiting. 1,000 idle nodes then cost the registry two commands a second, not ~125; a long
 * poll lasts seconds, so its answer waits for nothing.
 */
export const POLL_HEARTBEATS_FLUSH_MS = 500;

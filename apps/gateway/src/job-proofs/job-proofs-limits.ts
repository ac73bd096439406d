/**
 * Anchor trees one gateway process keeps built. A tree of an anchor's range (at most the
 * deployer's ANCHOR_EVENTS_MAX = 10,000 leaves) holds about twice as many 32-byte nodes as hex
 * strings, a few MB at most; building one reads its whole range from the log. A job's events sit
 * in a few recent anchors, so a small LRU serves the jobs being looked at.
 */
export const ANCHOR_TREES_CACHED_MAX = 16;

/** Anchors (index, range, root) kept as read from the chain: a posted anchor never changes; a few hundred bytes each. */
export const ANCHORS_CACHED_MAX = 1_024;

/** Events of one of the job's subjects the answer holds at most (a job has a few dozen; its contract fewer). */
export const JOB_PROOFS_EVENTS_PER_SUBJECT_MAX = 1_000;

/** Messages one fetch of an anchor's range asks for, and how long it waits for them. */
export const ANCHOR_RANGE_FETCH_MESSAGES_MAX = 1_000;
export const ANCHOR_RANGE_FETCH_EXPIRES_MS = 5_000;

import { LIMITS } from '@starminer/events';

/**
 * Anchor subjects (`trade.anchor.<index>`) one page of GET /v1/anchors reads at most. The deployer
 * records every index in order, so a page reads as many as it lists; an index the log lacks (a
 * record lost, a test's gap) is skipped and counted, so a run of them ends the page early, with a
 * cursor to go on from, instead of reading on without bound.
 */
export const ANCHOR_INDEXES_READ_PER_PAGE_MAX = 2 * LIMITS.pageSizeMax;

/** Block numbers of anchor transactions kept as read (a mined transaction stays in its block): a number and a hash each. */
export const ANCHOR_BLOCKS_CACHED_MAX = 4_096;

/**
 * Chain reads one page has in flight at once. A page reads each of its anchors once (then they are
 * cached, ANCHORS_CACHED_MAX) and each transaction's receipt once (ANCHOR_BLOCKS_CACHED_MAX), so a
 * page costs at most 1 + 2 × its size reads the first time and 1 (the anchor count) after; this
 * keeps a first read of a page from hitting a rate-limited RPC with a hundred calls at once.
 */
export const ANCHOR_CHAIN_READS_CONCURRENT_MAX = 8;

/** Long polls for assignments one gateway process holds open at most (ASSIGNMENT_WAITS_MAX); beyond, a poll answers at once. */
export const ASSIGNMENT_WAITS_MAX_DEFAULT = 10_000;
export const ASSIGNMENT_WAITS_MAX_LIMIT = 100_000;

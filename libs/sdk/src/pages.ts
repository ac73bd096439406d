import { SDK_LIMITS } from './limits';

/** A page size the gateway accepts: 1..100, default 50. */
export const pageSizeOf = (size: number | undefined): number => Math.min(Math.max(Math.floor(size ?? SDK_LIMITS.pageSizeDefault) || 1, 1), SDK_LIMITS.pageSizeMax);

/**
 * Every item of a cursor-paged list, page after page as the consumer asks for them (nothing is
 * fetched ahead). Stops at a page without `nextCursor`; throws when the gateway answers the same
 * cursor twice or past SDK_LIMITS.pagesMax pages, either of which would never end.
 */
export async function* paginate<Page extends { nextCursor?: string | null }, Item>(
  fetchPage: (cursor: string | undefined) => Promise<Page>,
  itemsOf: (page: Page) => readonly Item[],
): AsyncGenerator<Item, void, undefined> {
  let cursor: string | undefined;
  for (let pages = 0; pages < SDK_LIMITS.pagesMax; pages += 1) {
    const page = await fetchPage(cursor);
    yield* itemsOf(page);
    const next = page.nextCursor ?? undefined;
    if (next === undefined) return;
    if (next === cursor) throw new Error(`the gateway answered the cursor ${JSON.stringify(next)} twice: the list would never end`);
    cursor = next;
  }
  throw new Error(`a list ran past ${SDK_LIMITS.pagesMax} pages`);
}

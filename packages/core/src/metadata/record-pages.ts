import type { SegmentRecord } from './segment-record.js';

/** Records a `MetadataStore.records()` page holds: enough to amortise, little enough to stream. */
export const RECORD_PAGE_SIZE = 10_000;

/** Groups `records` into pages of `RECORD_PAGE_SIZE`, the last one shorter. */
export function* inPages(records: Iterable<SegmentRecord>): Generator<SegmentRecord[]> {
  let page: SegmentRecord[] = [];
  for (const record of records) {
    page.push(record);
    if (page.length === RECORD_PAGE_SIZE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** How work is cut so that neither payloads nor one workflow run's history grow with the table. */

/**
 * Partitions (or compaction groups) handled per chunk: the plan stores ranges in chunks of this
 * size, and one workflow run handles one chunk before it continues as new. About six history events
 * per partition keeps a run near 6,000 events, under Temporal's 10,240 warning.
 */
export const PARTITIONS_PER_CHUNK = 1000;

/**
 * Items the workflow asks for at a time (plan ranges): a quarter of a run's share, so that the
 * next batch of ranges is fetched while a window's worth is still running, several times a run.
 */
export const ITEMS_PER_FETCH = 250;

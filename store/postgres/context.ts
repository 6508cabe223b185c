import type pg from "pg";

/**
 * How the store orders a space's entries across instances (docs/deployment.md, "Ordering on
 * PostgreSQL"): "counter" locks the space's row for the commit; "xid" orders by transaction id and
 * reads only below the oldest running transaction.
 */
export type Ordering = "counter" | "xid";

/** Entries of one transaction in "xid" ordering at most: positions are (xid << 20) + index. */
export const XID_POSITIONS = 1_048_576;

/** What every part of one store needs to talk to its database. */
export interface StoreContext {
  readonly pool: pg.Pool;
  /** The quoted schema name, ready to prefix tables. */
  readonly schema: string;
  readonly storeId: string;
  readonly nodeId: string;
  readonly ordering: Ordering;
}

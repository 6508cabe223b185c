import { randomBytes } from "node:crypto";
import pg from "pg";

/** A fresh schema name for one test file's PostgreSQL tables. */
export function randomSchema(prefix = "sk_test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Drops a test's schema and everything in it (no error if it was never created). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

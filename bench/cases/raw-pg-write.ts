// Raw baseline: `batches` multi-row INSERTs of `batch` records of `size` bytes, one statement (one
// transaction, one commit) per batch, one after another, synchronous_commit on — what a hand-written
// `pg` producer gets from the same database. The table has the same keys as the store's entries.
import pg from "pg";
import { payloadOf, perSecond, report } from "../harness.js";
import { POSTGRES_URL, withPostgresSchema } from "../postgres.js";

const [batches = 400, batch = 100, size = 200] = process.argv.slice(2).map(Number);

await withPostgresSchema(async (schema) => {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query("SET synchronous_commit = on");
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".raw (segment_id bigint, sequence bigint, ts bigint, payload bytea, PRIMARY KEY (segment_id, sequence))`);
    const rows = Array.from({ length: batch }, (_, i) => `(1, $${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(", ");
    const insert = { name: "raw-insert", text: `INSERT INTO "${schema}".raw (segment_id, sequence, ts, payload) VALUES ${rows}` };
    const values = (b: number): unknown[] =>
      Array.from({ length: batch }, (_, i) => [b * batch + i + 1, Date.now(), Buffer.from(payloadOf(size, b * batch + i))]).flat();
    // Warm-up, then measure.
    for (let b = 0; b < 20; b++) await client.query({ ...insert, values: values(batches + b) });
    const started = performance.now();
    for (let b = 0; b < batches; b++) await client.query({ ...insert, values: values(b) });
    const elapsed = performance.now() - started;
    report({ value: perSecond(batches * batch, elapsed), unit: "records/s", detail: `${batches} multi-row INSERTs of ${batch}, one after another` });
  } finally {
    await client.end();
  }
});

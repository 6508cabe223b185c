import { createPublicKey } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { ServeConfig } from "./schema.js";
import { problemAt, type Sourced } from "./sources.js";

/** HS256 wants a key at least as long as its hash (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

type SourceOf = (path: string) => string;

/** Problems that involve more than one key. */
function crossChecks(config: ServeConfig, sourceOf: SourceOf): string[] {
  const problems: string[] = [];
  const { limits, auth } = config;
  if (limits.maxPayloadBytes >= limits.maxFrameBytes) {
    problems.push(
      problemAt(
        "limits.maxPayloadBytes",
        `must be below limits.maxFrameBytes (${limits.maxFrameBytes}, from ${sourceOf("limits.maxFrameBytes")})`,
        sourceOf("limits.maxPayloadBytes"),
      ),
    );
  }
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    const headers = `limits.headersTimeoutMs (${limits.headersTimeoutMs}, from ${sourceOf("limits.headersTimeoutMs")})`;
    problems.push(problemAt("limits.requestTimeoutMs", `must be at least ${headers}`, sourceOf("limits.requestTimeoutMs")));
  }
  if (limits.maxUnsentBytes < limits.sendHighWaterMarkBytes + limits.maxFrameBytes) {
    problems.push(
      problemAt(
        "limits.maxUnsentBytes",
        `must be at least limits.sendHighWaterMarkBytes + limits.maxFrameBytes (${limits.sendHighWaterMarkBytes + limits.maxFrameBytes})`,
        sourceOf("limits.maxUnsentBytes"),
      ),
    );
  }
  if (auth.jwtSecret !== undefined && auth.jwtSecretFile !== undefined) {
    problems.push(
      problemAt("auth.jwtSecret", `set either it or auth.jwtSecretFile (from ${sourceOf("auth.jwtSecretFile")}), not both`, sourceOf("auth.jwtSecret")),
    );
  }
  if (config.bus === "redis" && config.redisUrl === undefined) {
    problems.push(problemAt("redisUrl", `must be set when bus is redis (bus from ${sourceOf("bus")})`, sourceOf("redisUrl")));
  }
  const needsPostgres = (["store", "bus"] as const).find((key) => config[key] === "postgres");
  if (needsPostgres !== undefined && config.postgresUrl === undefined) {
    problems.push(
      problemAt("postgresUrl", `must be set when ${needsPostgres} is postgres (${needsPostgres} from ${sourceOf(needsPostgres)})`, sourceOf("postgresUrl")),
    );
  }
  if (auth.jwtSecret !== undefined && Buffer.byteLength(auth.jwtSecret) < MIN_SECRET_BYTES) {
    problems.push(problemAt("auth.jwtSecret", `must be at least ${MIN_SECRET_BYTES} bytes long`, sourceOf("auth.jwtSecret")));
  }
  return problems;
}

async function readText(path: string): Promise<{ text: string } | { problem: string }> {
  try {
    return { text: await readFile(path, "utf8") };
  } catch (error) {
    return { problem: `cannot read ${path}: ${(error as Error).message}` };
  }
}

/** A private key would parse as a public one too; refusing it keeps a leaked key out of the config. */
function pemProblem(pem: string): string | undefined {
  if (!/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem)) return 'must hold a PEM "PUBLIC KEY" or "CERTIFICATE"';
  try {
    createPublicKey(pem);
    return undefined;
  } catch (error) {
    return `is not a usable PEM public key: ${(error as Error).message}`;
  }
}

/** Problems only the file system can tell: unreadable key files, a data directory that is a file. */
async function fileChecks(config: ServeConfig, sourceOf: SourceOf): Promise<string[]> {
  const problems: string[] = [];
  const { auth } = config;
  if (auth.jwtSecretFile !== undefined) {
    const read = await readText(resolve(auth.jwtSecretFile));
    const problem =
      "problem" in read
        ? read.problem
        : Buffer.byteLength(read.text.trim()) < MIN_SECRET_BYTES
          ? `must hold a secret of at least ${MIN_SECRET_BYTES} bytes`
          : undefined;
    if (problem !== undefined) problems.push(problemAt("auth.jwtSecretFile", problem, sourceOf("auth.jwtSecretFile")));
  }
  if (auth.jwtPublicKeyFile !== undefined) {
    const read = await readText(resolve(auth.jwtPublicKeyFile));
    let problem = "problem" in read ? read.problem : undefined;
    if ("text" in read) problem = pemProblem(read.text);
    if (problem !== undefined) problems.push(problemAt("auth.jwtPublicKeyFile", problem, sourceOf("auth.jwtPublicKeyFile")));
  }
  const dataDir = await stat(resolve(config.dataDir)).catch(() => undefined);
  if (dataDir !== undefined && !dataDir.isDirectory()) {
    problems.push(problemAt("dataDir", `${resolve(config.dataDir)} exists and is not a directory`, sourceOf("dataDir")));
  }
  return problems;
}

/** Every problem of a merged config that no single value shows on its own. */
export async function checkConfig(config: ServeConfig, sources: ReadonlyMap<string, Sourced>): Promise<string[]> {
  const sourceOf: SourceOf = (path) => sources.get(path)?.source ?? "default";
  return [...crossChecks(config, sourceOf), ...(await fileChecks(config, sourceOf))];
}

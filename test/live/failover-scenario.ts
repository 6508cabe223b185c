import { expect } from "vitest";
import { bytes } from "../support/data.js";
import { bounded, Conditions } from "../support/waits.js";
import { StreamsError, type StreamsClient } from "../../pkg/client/index.js";
import type { DialRecorder } from "./failover-recorder.js";

/** What a follow-and-publish run through the loss of an instance saw. */
export interface FailoverRun {
  /** Sequences the follow delivered, in order. */
  followed: number[];
  /** Publishes acknowledged, and those that failed (with their errors). */
  acknowledged: number;
  failed: StreamsError[];
  /** The head once every publish settled. */
  head: number;
  urlBefore: string | undefined;
  urlAfter: string | undefined;
  /** The follow's resumes (ConsumeState.reconnects). */
  followResumes: number;
  /** Dials from the loss to the next connection, with their outcome. */
  dialsAfterLoss: [string | undefined, "connected" | "failed"][];
}

export interface FailoverScenario {
  client: StreamsClient;
  /** The client's provider logger. */
  log: DialRecorder;
  storeId: string;
  /** Stops (kills, or shuts down) the instance at `url`, the one the client is on. */
  stopInstance: (url: string) => Promise<void>;
  /** Concurrent publishers, and publishes each makes before and after the loss. */
  publishers?: number;
  before?: number;
  after?: number;
  /** Bound on each single wait. */
  waitMs?: number;
}

const SPACE = "orders";
const SEGMENT = "o-1";

/**
 * One client follows a segment and publishes to it from several concurrent loops; once `before`
 * publishes per loop are acknowledged and followed, the instance the client is on is stopped while
 * publishes are in flight, and the loops go on for `after` more each. Every wait is bounded.
 */
export async function followAndPublishThroughLoss(scenario: FailoverScenario): Promise<FailoverRun> {
  const { client, log, storeId, publishers = 4, before = 50, after = 50, waitMs = 8_000 } = scenario;
  const followed: number[] = [];
  const progress = new Conditions();
  const stopFollowing = new AbortController();
  const read = client.consumeSegment(storeId, { space: SPACE, segment: SEGMENT, follow: true, signal: stopFollowing.signal });
  let followError: unknown;
  const following = (async () => {
    try {
      for await (const entry of read) {
        followed.push(entry.sequence);
        progress.check();
      }
    } catch (error) {
      if (!stopFollowing.signal.aborted) followError = error;
      progress.check();
    }
  })();

  let acknowledged = 0;
  const failed: StreamsError[] = [];
  let releasePublishers!: () => void;
  const lossStarted = new Promise<void>((resolve) => (releasePublishers = resolve));
  const beforeLoss = new Conditions();
  let readyForLoss = 0;
  const publishLoop = async (loop: number): Promise<void> => {
    for (let index = 0; index < before + after; index++) {
      if (index === before) {
        readyForLoss++;
        beforeLoss.check();
        // Every loop waits here until the loss has started, so publishes are in flight across it.
        await bounded(lossStarted, "the loss to start", waitMs);
      }
      try {
        await bounded(client.publish(storeId, SPACE, SEGMENT, bytes(`p${loop}-${index}`)), `publish ${loop}/${index}`, waitMs);
        acknowledged++;
      } catch (error) {
        if (!(error instanceof StreamsError)) throw error;
        failed.push(error);
      }
    }
  };
  const loops = Array.from({ length: publishers }, (_, loop) => publishLoop(loop));

  await beforeLoss.until(() => readyForLoss === publishers, "every publisher to reach the loss", waitMs);
  await progress.until(() => followed.length >= acknowledged || followError !== undefined, "the follow to catch up before the loss", waitMs);
  const urlBefore = client.state.url;
  if (urlBefore === undefined) throw new Error("the client is not connected");
  const eventsBefore = log.events.length;
  const stopping = scenario.stopInstance(urlBefore);
  releasePublishers();
  await bounded(stopping, "the instance to stop", waitMs);
  await bounded(Promise.all(loops), "the publishers to finish", waitMs * 2);

  const head = (await bounded(client.peek(storeId, SPACE, SEGMENT), "peek", waitMs)).sequence;
  await progress.until(() => followed.length >= head || followError !== undefined, () => `the follow to reach ${head} (at ${followed.length})`, waitMs);
  const followResumes = read.state.reconnects;
  stopFollowing.abort();
  await bounded(following, "the follow to end", waitMs);
  if (followError !== undefined) throw followError;

  const afterLoss = log.events.slice(eventsBefore);
  const dialsAfterLoss: FailoverRun["dialsAfterLoss"] = [];
  for (const event of afterLoss) {
    if (event.msg === "websocket connected") {
      dialsAfterLoss.push([event.url, "connected"]);
      break;
    }
    if (event.msg === "websocket dial failed") dialsAfterLoss.push([event.url, "failed"]);
  }
  return { followed, acknowledged, failed, head, urlBefore, urlAfter: client.state.url, followResumes, dialsAfterLoss };
}

/** The checks every failover run must pass: each entry once, in order; failures only `unavailable`; another instance. */
export function expectCleanFailover(run: FailoverRun, publishes: number): void {
  expect(run.followed).toEqual(Array.from({ length: run.head }, (_, index) => index + 1));
  expect(run.acknowledged + run.failed.length).toBe(publishes);
  expect(run.failed.map((error) => error.kind).filter((kind) => kind !== "unavailable")).toEqual([]);
  // A failed publish may still have committed (its answer was lost), never the other way round.
  expect(run.head).toBeGreaterThanOrEqual(run.acknowledged);
  expect(run.head).toBeLessThanOrEqual(publishes);
  expect(run.urlAfter).not.toBe(run.urlBefore);
  expect(run.followResumes).toBeGreaterThanOrEqual(1);
  // The first dial after the loss went to a live instance and connected: no wait on the lost one.
  expect(run.dialsAfterLoss).toEqual([[run.urlAfter, "connected"]]);
}

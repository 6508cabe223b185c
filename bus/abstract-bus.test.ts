import { describe, expect, it } from "vitest";
import type { Logger } from "../pkg/api/logger.js";
import { StreamsError } from "../pkg/api/index.js";
import type { AbstractBus } from "./abstract-bus.js";
import { createMemoryBusFactory } from "./memory/index.js";

/** A logger that keeps its error lines. */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = () => undefined;
  return { errors, debug: ignore, info: ignore, warn: ignore, error: (_fields: object, message?: string) => void errors.push(message ?? "") };
}

// What AbstractBus adds to every bus, seen through the memory bus (the suite checks the Bus contract).
describe("AbstractBus", () => {
  it("tells connection listeners once when close takes the bus down, isolating a throwing one", async () => {
    const logger = recordingLogger();
    const bus = createMemoryBusFactory({ logger })() as AbstractBus;
    const heard: boolean[] = [];
    bus.onConnectionChange(() => {
      throw new Error("listener failure");
    });
    bus.onConnectionChange((connected) => heard.push(connected));
    await Promise.all([bus.close(), bus.close()]);
    expect(heard).toEqual([false]);
    expect(logger.errors).toEqual(["memory bus connection listener threw"]);
  });

  it("after close: subscribe is unavailable, publish is a counted drop, listeners are not kept", async () => {
    const bus = createMemoryBusFactory()() as AbstractBus;
    await bus.close();
    const error = await bus.subscribe("r", () => undefined).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(StreamsError);
    expect(error).toMatchObject({ kind: "unavailable", message: "memory bus is closed" });
    bus.publish("r", new Uint8Array([1]));
    expect(bus.stats).toEqual({ published: 1, dropped: 1 });
    expect(bus.onReconnect(() => undefined)()).toBeUndefined();
    expect(() => bus.onConnectionChange(42 as unknown as () => void)).toThrow(TypeError);
    expect(() => bus.onDropped(42 as unknown as () => void)).toThrow(TypeError);
    const dropped: string[] = [];
    bus.onDropped((route) => dropped.push(route));
    bus.publish("r", new Uint8Array([2]));
    // A closed bus never comes back: its drops are counted, not reported for announcing again.
    expect(dropped).toEqual([]);
    await expect(bus.flush()).resolves.toBeUndefined();
  });
});

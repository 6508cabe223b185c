import { describe, expect, it } from "vitest";
import { principalFromScopes, scopesOf } from "./index.js";

const A = "6f1c1f0e-7a43-4c1e-9f55-0a2a3c6b1d01";
const B = "0b9d6c52-1f0e-4b8f-a1c9-53d7c2e8a4f2";

describe("scopes", () => {
  it("reads `scope` (space-separated) and `scp` (array or string)", () => {
    expect(scopesOf({ scope: " a  b\tc " })).toEqual(["a", "b", "c"]);
    expect(scopesOf({ scp: ["a", 1, "b"] })).toEqual(["a", "b"]);
    expect(scopesOf({ scp: "a b" })).toEqual(["a", "b"]);
    expect(scopesOf({ scope: "a", scp: ["b"] })).toEqual(["a", "b"]);
    expect(scopesOf({ scope: 42 })).toEqual([]);
  });

  it("grants every store with streamkit::*", () => {
    const principal = principalFromScopes(["streamkit::*"]);
    expect(principal.can(A, "write")).toBe(true);
    expect(principal.can(B, "read")).toBe(true);
    expect(principal.admin).toBe(false);
  });

  it("grants one store, compared case-insensitively", () => {
    const principal = principalFromScopes([`streamkit::${A.toUpperCase()}`]);
    expect(principal.can(A, "write")).toBe(true);
    expect(principal.can(A.toUpperCase(), "read")).toBe(true);
    expect(principal.can(B, "read")).toBe(false);
  });

  it("grants reads only with :read scopes", () => {
    const one = principalFromScopes([`streamkit::${A}:read`]);
    expect(one.can(A, "read")).toBe(true);
    expect(one.can(A, "write")).toBe(false);
    expect(one.can(B, "read")).toBe(false);
    const all = principalFromScopes(["streamkit::*:read", `streamkit::${B}`]);
    expect(all.can(A, "read")).toBe(true);
    expect(all.can(A, "write")).toBe(false);
    expect(all.can(B, "write")).toBe(true);
  });

  it("marks admin and ignores unrelated or malformed scopes", () => {
    const principal = principalFromScopes(["streamkit::admin", "openid", "streamkit::not-a-uuid", "streamkit::", "other::*"], "ops");
    expect(principal.admin).toBe(true);
    expect(principal.subject).toBe("ops");
    expect(principal.can(A, "read")).toBe(false);
  });
});

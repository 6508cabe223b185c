/** Which worker owns each partition; a partition no live worker owns is missing. */
export type Owners = { [partition: string]: string };

/** What the dispatcher publishes to the plan segment; the entry's sequence numbers the plans. */
export interface Plan {
  workers: string[];
  owners: Owners;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePlan(plan: Plan): Uint8Array {
  return encoder.encode(JSON.stringify(plan));
}

export function decodePlan(payload: Uint8Array): Plan {
  return JSON.parse(decoder.decode(payload)) as Plan;
}

export function partitionsOf(owners: Owners, workerId: string): string[] {
  return Object.keys(owners)
    .filter((partition) => owners[partition] === workerId)
    .sort();
}

/**
 * Assigns every partition to one of `workers` (sorted ids), moving as little as it can: a partition
 * stays with its live owner; partitions of departed workers go to the least loaded; then partitions
 * move from the most to the least loaded until no two workers differ by more than one.
 */
export function assign(previous: Owners, workers: readonly string[], partitions: readonly string[]): Owners {
  if (workers.length === 0) return {};
  const load = new Map<string, string[]>(workers.map((workerId) => [workerId, []]));
  const orphans: string[] = [];
  for (const partition of partitions) {
    const owner = previous[partition];
    const owned = owner === undefined ? undefined : load.get(owner);
    if (owned === undefined) orphans.push(partition);
    else owned.push(partition);
  }
  // Least loaded first, ties by worker id, so the plan does not depend on arrival order.
  const byLoad = () => [...load.entries()].sort(([a, ownedA], [b, ownedB]) => ownedA.length - ownedB.length || (a < b ? -1 : 1));
  for (const partition of orphans) byLoad()[0]![1].push(partition);
  for (;;) {
    const ordered = byLoad();
    const least = ordered[0]![1];
    const most = ordered[ordered.length - 1]![1];
    if (most.length - least.length <= 1) break;
    least.push(most.pop()!);
  }
  const owners: Owners = {};
  for (const [workerId, owned] of load) for (const partition of owned) owners[partition] = workerId;
  return owners;
}

export function sameOwners(a: Owners, b: Owners): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((partition) => a[partition] === b[partition]);
}

/** `worker-1 → partition-0, partition-3 | worker-2 → …` */
export function describeOwners(owners: Owners, workers: readonly string[]): string {
  if (workers.length === 0) return "no workers: nothing assigned";
  return workers.map((workerId) => `${workerId} → ${partitionsOf(owners, workerId).join(", ") || "nothing"}`).join(" | ");
}

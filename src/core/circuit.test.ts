import { describe, expect, it } from "vitest";
import { circuitSnapshots, createCircuit, onCircuitTransition } from "./circuit.js";
import type { CircuitTransition } from "./circuit.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("circuit breaker state machine", () => {
  it("opens after failureThreshold failures in a row, rejects until openMs, then lets one probe through", () => {
    const c = clock();
    const seen: CircuitTransition[] = [];
    const circuit = createCircuit("pg-test", "postgres", { failureThreshold: 3, openMs: 1000, now: c.now, onTransition: (t) => seen.push(t) });
    try {
      for (let i = 0; i < 2; i++) {
        expect(circuit.admit()).toBe("call");
        circuit.fail(new Error("refused"));
      }
      expect(circuit.state).toBe("closed");
      // A success in between resets the count.
      circuit.succeed();
      for (let i = 0; i < 3; i++) {
        expect(circuit.admit()).toBe("call");
        circuit.fail(new Error("refused"));
      }
      expect(circuit.state).toBe("open");
      expect(seen.map((t) => `${t.from}>${t.to}`)).toEqual(["closed>open"]);
      expect(seen[0]?.reason).toBe("refused");
      expect(circuit.admit()).toBe("reject");
      c.advance(999);
      expect(circuit.retryInMs()).toBe(1);
      expect(circuit.admit()).toBe("reject");
      c.advance(1);
      expect(circuit.admit()).toBe("probe");
      expect(circuit.state).toBe("half-open");
      // Only one probe at a time.
      expect(circuit.admit()).toBe("reject");
      circuit.succeed(true);
      expect(circuit.state).toBe("closed");
      expect(seen.map((t) => t.to)).toEqual(["open", "half-open", "closed"]);
      expect(circuit.snapshot().counters).toMatchObject({ opened: 1, halfOpened: 1, closed: 1, rejected: 3, failures: 5 });
    } finally {
      circuit.dispose();
    }
  });

  it("a failed probe opens it again for twice as long, up to maxOpenMs; a success resets the open time", () => {
    const c = clock();
    const circuit = createCircuit("embed-test", "embedder", { failureThreshold: 1, openMs: 100, maxOpenMs: 300, now: c.now });
    try {
      circuit.fail(new Error("down"));
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) {
        waits.push(circuit.retryInMs());
        c.advance(circuit.retryInMs());
        expect(circuit.admit()).toBe("probe");
        circuit.fail(new Error("still down"), true);
      }
      expect(waits).toEqual([100, 200, 300, 300]);
      c.advance(300);
      expect(circuit.admit()).toBe("probe");
      circuit.succeed(true);
      circuit.fail(new Error("down again"));
      expect(circuit.retryInMs()).toBe(100);
    } finally {
      circuit.dispose();
    }
  });

  it("trip opens at once; process-wide listeners and snapshots see every live circuit until disposed", () => {
    const c = clock();
    const heard: string[] = [];
    const off = onCircuitTransition((t) => heard.push(`${t.circuit}:${t.to}`));
    const circuit = createCircuit("redis-test", "redis", { failureThreshold: 10, openMs: 50, now: c.now });
    try {
      circuit.trip(new Error("ECONNREFUSED"));
      expect(circuit.state).toBe("open");
      circuit.beginProbe();
      circuit.succeed(true);
      expect(heard).toEqual(["redis-test:open", "redis-test:half-open", "redis-test:closed"]);
      expect(circuitSnapshots().find((s) => s.name === "redis-test")?.state).toBe("closed");
    } finally {
      off();
      circuit.dispose();
    }
    expect(circuitSnapshots().some((s) => s.name === "redis-test")).toBe(false);
  });
});

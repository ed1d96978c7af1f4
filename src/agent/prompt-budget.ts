/**
 * One token budget shared by the sections of a window: pure arithmetic on the items each
 * section offers, best first, with their costs.
 *
 * 1. Minimums: in priority order (highest first), each section holds `min(min, what it
 *    offers)` tokens while the budget lasts.
 * 2. Filling: in priority order, each section takes its items in order while they fit in
 *    `min(max, the budget left less the minimums held for the sections after it)`. A
 *    contiguous section (the recent conversation) stops at its first item that does not fit;
 *    the others skip it and try the next (a smaller memory may still fit).
 */

/** A section as the allocation sees it. */
export interface BudgetSection {
  name: string;
  priority: number;
  min: number;
  max: number;
  /** Costs of its items, in the order it wants them. */
  costs: readonly number[];
  /** Stop at the first item that does not fit (else skip it). */
  contiguous: boolean;
  /** Tokens the section costs once it holds any item (its message's framing). @default 0 */
  overhead?: number;
  /**
   * One item of elastic size (a summary still to be written): `costs[0]` is the least it can
   * use; given room for that, it takes all the room it is allowed, up to `max`.
   */
  elastic?: boolean;
}

/** Which items of each section are in, and the tokens they take. */
export interface Allocation {
  taken: Map<string, boolean[]>;
  used: Map<string, number>;
}

/** Splits `budget` among `sections` (see the module comment). Sections with equal priority keep their given order. */
export function allocate(budget: number, sections: readonly BudgetSection[]): Allocation {
  const order = sections.map((s, i) => ({ s, i })).sort((a, b) => b.s.priority - a.s.priority || a.i - b.i).map((x) => x.s);
  const held = new Map<string, number>();
  let free = Math.max(0, budget);
  for (const s of order) {
    const offered = s.costs.length === 0 ? 0 : s.costs.reduce((a, b) => a + b, s.overhead ?? 0);
    const h = Math.min(s.min, s.max, offered, free);
    held.set(s.name, h);
    free -= h;
  }
  const taken = new Map<string, boolean[]>();
  const used = new Map<string, number>();
  for (const s of order) {
    const mine = held.get(s.name) ?? 0;
    held.delete(s.name);
    const room = Math.min(s.max, free + mine);
    const flags = s.costs.map(() => false);
    let u = 0;
    if (s.elastic === true) {
      if (s.costs.length > 0 && s.costs[0]! <= room) {
        flags[0] = true;
        u = room;
      }
      taken.set(s.name, flags);
      used.set(s.name, u);
      free = free + mine - u;
      continue;
    }
    for (let i = 0; i < s.costs.length; i++) {
      const c = s.costs[i]! + (u === 0 ? (s.overhead ?? 0) : 0);
      if (u + c <= room) {
        flags[i] = true;
        u += c;
      } else if (s.contiguous) break;
    }
    taken.set(s.name, flags);
    used.set(s.name, u);
    free = free + mine - u;
  }
  return { taken, used };
}

/**
 * LoCoMo (snap-research/LoCoMo, `data/locomo10.json`, CC BY-NC 4.0) for the memory benchmark:
 * one memory per conversation turn (`[session date] speaker: text`, image captions appended),
 * one scope per conversation, each question of categories 1–4 a query whose evidence turns are
 * the relevant memories. The data is never part of this repository: the path comes from
 * `LOCOMO_PATH`, else `../shared/data/locomo10.json` beside the checkout.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

/** Where the data file is looked for, in order. */
export function locomoPath() {
  if (process.env.LOCOMO_PATH) return process.env.LOCOMO_PATH;
  const beside = join(ROOT, "..", "shared", "data", "locomo10.json");
  return existsSync(beside) ? beside : null;
}

/** How to get the data, for a section that has to skip. */
export const LOCOMO_HOWTO =
  "Download `data/locomo10.json` from https://github.com/snap-research/LoCoMo (CC BY-NC 4.0) and set `LOCOMO_PATH` to it.";

/** Evidence ids as written, with the malformed ones repaired (`D:11:26` → `D11:26`, `D30:05` → `D30:5`, lists split). */
function parseEvidence(list) {
  const out = [];
  for (const raw of list) {
    for (const part of String(raw).split(/[;\s]+/)) {
      const m = /^D:?(\d+):0*(\d+)$/.exec(part);
      if (m) out.push(`D${Number(m[1])}:${Number(m[2])}`);
    }
  }
  return [...new Set(out)];
}

/**
 * The conversations: `{ id, turns: [{ idx, diaId, memory }], questions: [{ question, category, evidence: Set<idx> }] }`.
 * Questions whose evidence names no turn of the conversation stay in (as misses), as in the protocol.
 */
export function loadLocomo(path) {
  const raw = JSON.parse(readFileSync(path, "utf8"));
  return raw.map((conv, id) => {
    const c = conv.conversation;
    const sessions = Object.keys(c)
      .map((k) => /^session_(\d+)$/.exec(k))
      .filter(Boolean)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const turns = [];
    for (const s of sessions) {
      const date = c[`session_${s}_date_time`];
      for (const t of c[`session_${s}`]) {
        const caption = t.blip_caption ? ` [image: ${t.blip_caption}]` : "";
        turns.push({ idx: turns.length, diaId: t.dia_id, memory: `[${date}] ${t.speaker}: ${t.text}${caption}` });
      }
    }
    const byDia = new Map(turns.map((t) => [t.diaId, t.idx]));
    const questions = conv.qa
      .filter((q) => q.category !== 5)
      .map((q) => ({
        question: String(q.question),
        category: q.category,
        evidence: new Set(parseEvidence(q.evidence ?? []).map((e) => byDia.get(e)).filter((x) => x !== undefined)),
      }));
    return { id, turns, questions };
  });
}

/** 1-based rank of the first relevant turn in `order` (turn idx, best first), or Infinity. */
export function firstHit(order, evidence) {
  for (let r = 0; r < order.length; r++) if (evidence.has(order[r])) return r + 1;
  return Number.POSITIVE_INFINITY;
}

/** recall@1/5/10/20 and MRR@10 of ranks. */
export function summarize(ranks) {
  const n = ranks.length || 1;
  const out = { n: ranks.length };
  for (const k of [1, 5, 10, 20]) out[`r@${k}`] = ranks.filter((r) => r <= k).length / n;
  out.mrr10 = ranks.reduce((a, r) => a + (r <= 10 ? 1 / r : 0), 0) / n;
  return out;
}

/**
 * `listNamespaces` of `ContextdStore`: the distinct namespaces of the live items under the
 * store's root, matched against LangGraph's prefix and suffix conditions (`*` matches any one
 * label), cut to `maxDepth`, in label order. contextd has no namespace index, so this reads
 * the memories under the longest literal prefix (1000 a page).
 */
import type { ListNamespacesOperation, MatchCondition } from "@langchain/langgraph-checkpoint";
import type { ContextStore } from "../../index.js";

const PAGE = 1000;

/** Whether `namespace` meets a prefix or suffix condition. */
export function matchesCondition(condition: MatchCondition, namespace: readonly string[]): boolean {
  const { matchType, path } = condition;
  if (path.length > namespace.length) return false;
  const start = matchType === "prefix" ? 0 : namespace.length - path.length;
  return path.every((label, i) => label === "*" || namespace[start + i] === label);
}

/** Label by label, by UTF-16 code units; a namespace before the longer ones it starts. */
export function compareNamespaces(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** The namespaces of `op`, read from the memories under `root`. */
export async function listNamespaces(
  store: Pick<ContextStore, "listMemories">,
  root: string,
  op: ListNamespacesOperation,
): Promise<string[][]> {
  const conditions = op.matchConditions ?? [];
  const literal: string[] = [];
  for (const label of conditions.find((c) => c.matchType === "prefix")?.path ?? []) {
    if (label === "*") break;
    literal.push(label);
  }
  const seen = new Map<string, string[]>();
  let cursor: string | undefined;
  do {
    const page = await store.listMemories({ scope: { namespace: [root, ...literal] }, order: "asc", limit: PAGE, ...(cursor !== undefined && { cursor }) });
    for (const m of page.items) {
      const ns = m.scope.namespace.slice(1);
      if (ns.length === 0 || !conditions.every((c) => matchesCondition(c, ns))) continue;
      const cut = op.maxDepth === undefined ? ns : ns.slice(0, op.maxDepth);
      seen.set(JSON.stringify(cut), cut);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  const offset = op.offset ?? 0;
  return [...seen.values()].sort(compareNamespaces).slice(offset, offset + (op.limit ?? seen.size));
}

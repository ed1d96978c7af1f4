/**
 * Every member of the interfaces users hold — `ContextStore` (with the engine's `CoreStore`
 * it extends) and `ContextHandle` — says in its TSDoc what it does, what it throws and what it
 * costs, so an editor's hover answers the three questions without opening the source.
 */
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const FILES = { agent: "../src/agent/types.ts", core: "../src/core/types.ts" };
const program = ts.createProgram(
  Object.values(FILES).map((f) => fileURLToPath(new URL(f, import.meta.url))),
  { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
);

// Binding sets the parent links the JSDoc lookup follows.
program.getTypeChecker();

interface MemberDoc {
  name: string;
  method: boolean;
  summary: string;
  throws: string[];
}

function members(file: string, name: string): MemberDoc[] {
  const source = program.getSourceFile(fileURLToPath(new URL(file, import.meta.url)));
  if (source === undefined) throw new Error(`${file} not in the program`);
  const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (decl === undefined) throw new Error(`no interface ${name} in ${file}`);
  return decl.members.map((m) => {
    const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
    const text = (c: ts.JSDoc["comment"]): string => (typeof c === "string" ? c : (c ?? []).map((p) => p.text).join(""));
    return {
      name: m.name?.getText(source) ?? "?",
      method: ts.isMethodSignature(m),
      summary: docs.map((d) => text(d.comment)).join("\n").trim(),
      throws: docs.flatMap((d) => (d.tags ?? []).filter((t) => t.tagName.text === "throws").map((t) => text(t.comment))),
    };
  });
}

// What a reader needs to know about cost: how much I/O, or that there is none.
const COST = /\b(no I\/O|one (indexed |backward )?(read|query|write|transaction|round-trip|index)|reads?\b|scan|transaction|cost|writes?\b|round-trip|grows|query|queries|index|appends?|rebuilds?|embed)/i;

const interfaces: [string, string][] = [
  [FILES.agent, "ContextStore"],
  [FILES.agent, "ContextHandle"],
  [FILES.core, "CoreStore"],
];

describe.each(interfaces)("TSDoc of %s › %s", (file, name) => {
  const list = members(file, name);
  it("has members", () => expect(list.length).toBeGreaterThan(3));
  it.each(list.map((m) => [m.name, m] as const))("%s: says what it does, what it throws and what it costs", (_name, m) => {
    expect(m.summary, "a summary").not.toBe("");
    expect(m.summary, "the cost (I/O it does, or none)").toMatch(COST);
    if (m.method) expect(m.throws.length, "a @throws tag").toBeGreaterThan(0);
  });
});

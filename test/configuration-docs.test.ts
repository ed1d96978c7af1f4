/**
 * docs/configuration.md lists every setting of the schema (src/agent/settings.ts): its table is
 * the one `settingsTable()` makes, so the docs and the schema cannot drift apart.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { SETTINGS, settingsTable } from "../src/agent/settings.js";

it("docs/configuration.md holds exactly the settings table made from the schema", () => {
  const doc = readFileSync(new URL("../docs/configuration.md", import.meta.url), "utf8");
  const m = /<!-- settings:begin[^>]*-->\n([\s\S]*?)\n<!-- settings:end -->/.exec(doc);
  expect(m, "the settings markers are missing from docs/configuration.md").not.toBeNull();
  // On a difference: paste the output of `contextd config settings` between the markers.
  expect(m?.[1]).toBe(settingsTable());
  for (const s of SETTINGS) expect(doc).toContain(`| \`${s.key}\` |`);
});

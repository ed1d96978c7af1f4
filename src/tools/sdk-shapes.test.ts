/**
 * The exported tool shapes against the SDKs' published types: each assignment below is checked
 * by `tsc` (this file is part of the typecheck), and each SDK is then given the tools and must
 * send them as they are (a fake `fetch` captures the request), MCP's by its own zod schema.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { Tool as AnthropicSdkTool } from "@anthropic-ai/sdk/resources/messages";
import { ListToolsResultSchema, ToolSchema, type Tool as McpSdkTool } from "@modelcontextprotocol/sdk/types.js";
import OpenAI from "openai";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import type { FunctionTool } from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool } from "./define-tool.js";
import { toAnthropicTool, toMcpTool, toOpenAIResponsesTool, toOpenAITool } from "./tool-formats.js";

const refund = defineTool({
  name: "refund_invoice",
  description: "Refund an invoice, fully or in part",
  input: z.object({
    invoice: z.string().describe("Invoice number, e.g. INV-7"),
    amount: z.number().positive().optional(),
    reason: z.enum(["damaged", "late", "other"]),
    lines: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
  }),
  output: z.object({ refunded: z.number(), currency: z.string() }),
  run: () => ({ refunded: 10, currency: "EUR" }),
});
const lookup = defineTool({
  name: "lookup",
  description: "Look a customer up",
  input: { type: "object", properties: { email: { type: "string", format: "email" } }, required: ["email"], additionalProperties: false },
  run: () => null,
});

// Compile-time: the shapes are assignable to the SDKs' own types.
const openaiTools: ChatCompletionTool[] = [toOpenAITool(refund), toOpenAITool(lookup)];
const responsesTools: FunctionTool[] = [toOpenAIResponsesTool(refund), toOpenAIResponsesTool(lookup)];
const anthropicTools: AnthropicSdkTool[] = [toAnthropicTool(refund), toAnthropicTool(lookup)];
const mcpTools: McpSdkTool[] = [toMcpTool(refund), toMcpTool(lookup)];

/** A fetch that records the JSON body and answers with `reply`. */
function capture(reply: unknown): { fetch: typeof fetch; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const fake = (async (_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(JSON.parse(String(init?.body)));
    return new Response(JSON.stringify(reply), { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { fetch: fake, bodies };
}

describe("tool shapes for the SDKs", () => {
  it("the input JSON Schema comes from zod (descriptions, enums, required fields; no $schema)", () => {
    expect(refund.inputSchema).toMatchObject({
      type: "object",
      properties: { invoice: { type: "string", description: "Invoice number, e.g. INV-7" }, reason: { enum: ["damaged", "late", "other"] } },
      required: ["invoice", "reason"],
    });
    expect(refund.inputSchema).not.toHaveProperty("$schema");
  });

  it("OpenAI Chat Completions and Responses send the tools as exported", async () => {
    const chat = capture({ id: "c", object: "chat.completion", created: 0, model: "gpt-4o", choices: [] });
    await new OpenAI({ apiKey: "test", fetch: chat.fetch, maxRetries: 0 }).chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "refund INV-7" }],
      tools: openaiTools,
    });
    expect((chat.bodies[0] as { tools: unknown }).tools).toEqual(openaiTools);

    const responses = capture({ id: "r", object: "response", created_at: 0, model: "gpt-4o", output: [], status: "completed" });
    await new OpenAI({ apiKey: "test", fetch: responses.fetch, maxRetries: 0 }).responses.create({ model: "gpt-4o", input: "refund INV-7", tools: responsesTools });
    expect((responses.bodies[0] as { tools: unknown }).tools).toEqual(responsesTools);
  });

  it("Anthropic Messages sends the tools as exported", async () => {
    const sent = capture({ id: "m", type: "message", role: "assistant", model: "claude", content: [], stop_reason: "end_turn", usage: { input_tokens: 1, output_tokens: 1 } });
    await new Anthropic({ apiKey: "test", fetch: sent.fetch, maxRetries: 0 }).messages.create({
      model: "claude-test-model",
      max_tokens: 100,
      messages: [{ role: "user", content: "refund INV-7" }],
      tools: anthropicTools,
    });
    expect((sent.bodies[0] as { tools: unknown }).tools).toEqual(anthropicTools);
  });

  it("MCP's schema accepts the tool descriptions, output schema included", () => {
    for (const t of mcpTools) expect(ToolSchema.parse(t)).toEqual(t);
    expect(ListToolsResultSchema.parse({ tools: mcpTools }).tools).toHaveLength(2);
    expect(mcpTools[0]!.outputSchema).toMatchObject({ type: "object", required: ["refunded", "currency"] });
    expect(mcpTools[1]).not.toHaveProperty("outputSchema");
  });
});

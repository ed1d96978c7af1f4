/**
 * Tool definitions in the shapes the model providers and MCP take. They are plain objects
 * typed here structurally (the SDKs are not dependencies); `sdk-shapes.test.ts` checks them
 * against the types the `openai`, `@anthropic-ai/sdk` and `@modelcontextprotocol/sdk`
 * packages publish.
 */
import type { JsonSchema, Tool } from "./define-tool.js";

/** An OpenAI Chat Completions tool (`ChatCompletionTool`, function kind). */
export interface OpenAIChatTool {
  type: "function";
  function: { name: string; description: string; parameters: JsonSchema; strict?: boolean };
}

/** An OpenAI Responses API tool (`FunctionTool`). */
export interface OpenAIResponsesTool {
  type: "function";
  name: string;
  description: string;
  parameters: JsonSchema;
  strict: boolean;
}

/** An Anthropic Messages API tool (`Tool`). */
export interface AnthropicTool {
  name: string;
  description: string;
  input_schema: JsonSchema & { type: "object" };
}

/** An MCP tool description (`tools/list`). */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: JsonSchema & { type: "object" };
  outputSchema?: JsonSchema & { type: "object" };
}

const objectSchema = (s: JsonSchema): JsonSchema & { type: "object" } => ({ ...s, type: "object" });

/**
 * The tool for OpenAI Chat Completions (`tools: [toOpenAITool(weather)]`).
 * @example
 * ```ts
 * const tools = [toOpenAITool(weather)];
 * ```
 */
export function toOpenAITool(tool: Tool<never, unknown> | Tool): OpenAIChatTool {
  return { type: "function", function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } };
}

/** The tool for the OpenAI Responses API. `strict` is off: contextd's schemas allow optional fields. */
export function toOpenAIResponsesTool(tool: Tool<never, unknown> | Tool): OpenAIResponsesTool {
  return { type: "function", name: tool.name, description: tool.description, parameters: tool.inputSchema, strict: false };
}

/** The tool for Anthropic's Messages API. */
export function toAnthropicTool(tool: Tool<never, unknown> | Tool): AnthropicTool {
  return { name: tool.name, description: tool.description, input_schema: objectSchema(tool.inputSchema) };
}

/** The tool as an MCP server lists it (`outputSchema` when the tool has an object output schema). */
export function toMcpTool(tool: Tool<never, unknown> | Tool): McpTool {
  const out: McpTool = { name: tool.name, description: tool.description, inputSchema: objectSchema(tool.inputSchema) };
  if (tool.outputSchema?.["type"] === "object") out.outputSchema = objectSchema(tool.outputSchema);
  return out;
}

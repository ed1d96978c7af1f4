/**
 * `contextd/tools`: tools defined once (zod or JSON Schema), called within a task or on a
 * context with validation, timeouts, retries, caching and output caps, recorded as
 * `tool_call` / `tool_result` events, and exported for OpenAI, Anthropic and MCP.
 * @packageDocumentation
 */
export { defineTool, unknownTool } from "./define-tool.js";
export type { Checked, JsonSchema, Tool, ToolDefinition, ToolRunContext } from "./define-tool.js";
export { callTool, callTools } from "./call-tool.js";
export type { CallToolOptions, CallToolsOptions, ToolCallRequest, ToolOutcome, ToolResult, ToolTarget } from "./call-tool.js";
export { toAnthropicTool, toMcpTool, toOpenAIResponsesTool, toOpenAITool } from "./tool-formats.js";
export type { AnthropicTool, McpTool, OpenAIChatTool, OpenAIResponsesTool } from "./tool-formats.js";

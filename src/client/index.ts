/**
 * The contextd HTTP client: the same `ContextStore` interface as the embedded store.
 */
export { createClient } from "./client.js";
export type { ClientOptions } from "./client.js";
export type { ReconnectOptions } from "./watch.js";
// The window's messages in the model APIs' shapes (pure functions: the client stays light).
export { toAnthropicMessages, toModelMessages, toOpenAIMessages } from "../agent/prompt-formats.js";
export type { AISDKModelMessage, AnthropicPrompt, OpenAIChatMessage } from "../agent/prompt-formats.js";
export type { PromptMessage, PromptWindow, PromptWindowOptions } from "../agent/prompt-types.js";

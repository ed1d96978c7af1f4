/**
 * The agent-step workload as LangGraph persists it, shared by the SQLite and PostgreSQL
 * benchmarks: per step a new checkpoint whose `messages` channel holds the whole, growing
 * message list, written with the saver's `put`.
 */
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { rateOfN } from "./lib.mjs";

/**
 * Runs `n` steps on thread `threadId` of `saver` and returns their rate (`rateOfN`).
 * @param message the workload's `message(i)`
 * @param withNewVersions pass `put` its fourth argument, the new channel versions (PostgresSaver reads it)
 */
export async function langGraphSteps(saver, threadId, n, message, withNewVersions) {
  const put = (config, checkpoint, metadata, versions) =>
    withNewVersions ? saver.put(config, checkpoint, metadata, versions) : saver.put(config, checkpoint, metadata);
  let config = { configurable: { thread_id: threadId, checkpoint_ns: "" } };
  config = await put(config, emptyCheckpoint(), { source: "input", step: -1, parents: {} }, {});
  let messages = [];
  return rateOfN(async (i) => {
    const m = message(i);
    messages = [...messages, { ...m.data, id: `msg-${i}` }];
    const versions = { messages: i + 2, step: i + 2, lastMessage: i + 2 };
    const checkpoint = {
      v: 4,
      id: uuid6(i),
      ts: new Date().toISOString(),
      channel_values: { messages, step: i, lastMessage: m.data.content },
      channel_versions: versions,
      versions_seen: { agent: { messages: i + 1 } },
    };
    config = await put(config, checkpoint, { source: "loop", step: i, parents: {} }, versions);
  }, n);
}

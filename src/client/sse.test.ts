import { describe, expect, it } from "vitest";
import { parseSse } from "./sse.js";
import type { SseMessage } from "./sse.js";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of parseSse(streamOf(chunks))) out.push(m);
  return out;
}

describe("parseSse", () => {
  it("parses events split across chunks, skips comments, keeps the last id", async () => {
    const messages = await all([": keepalive\n\nevent: ready\ndata: {\"afterSeq\":", "0}\nretry: 1000\n\n", "event: event\nid: 1\ndata: {\"seq\":1}\n\nev", "ent: event\r\nid: 2\r\ndata: a\r\ndata: b\r\n\r\n"]);
    expect(messages).toEqual([
      { event: "ready", data: '{"afterSeq":0}', id: null },
      { event: "event", data: '{"seq":1}', id: "1" },
      { event: "event", data: "a\nb", id: "2" },
    ]);
  });

  it("drops an unterminated last message (the connection dropped mid-message)", async () => {
    expect(await all(["event: event\nid: 1\ndata: {}\n\nevent: event\nid: 2\ndata: {"])).toHaveLength(1);
  });

  it("a message without event name is 'message'", async () => {
    expect(await all(["data: x\n\n"])).toEqual([{ event: "message", data: "x", id: null }]);
  });
});

// Drives Warden with the official MCP TypeScript SDK v2 client
// (@modelcontextprotocol/client), which speaks revision 2026-07-28 when it
// negotiates ("auto": it probes with server/discover) and the handshake
// revisions otherwise ("legacy").
//
// Usage: node e2e_client_v2.mjs auto|legacy URL
//
// Lists the tools and calls one; receives a tool's progress and log
// notifications while it runs; answers a tool's sampling and elicitation
// requests through the client's request handlers (server-to-client requests
// in legacy, InputRequiredResult rounds the SDK fulfils and retries in
// 2026-07-28); aborts a long call and goes on. Exits non-zero with a message
// on the first mismatch.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function answerRequests(client, asked) {
  client.setRequestHandler("sampling/createMessage", async (request) => {
    const prompt = request.params.messages[0].content.text;
    asked.push(`sample: ${prompt}`);
    return {
      role: "assistant",
      content: { type: "text", text: `echo: ${prompt}` },
      model: "warden-e2e-model",
      stopReason: "endTurn",
    };
  });
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push(`elicit: ${request.params.message}`);
    return { action: "accept", content: { name: "Ada" } };
  });
}

async function listAndCall(client, mode) {
  const { tools } = await client.listTools();
  const names = new Set(tools.map((tool) => tool.name));
  for (const name of ["text.count", "misbehave.ask", "misbehave.progress"]) {
    check(names.has(name), `[${mode}] ${name} is not listed`);
  }
  const counted = await client.callTool({ name: "text.count", arguments: { text: "one two three" } });
  check(counted.structuredContent.words === 3, `[${mode}] text.count: ${JSON.stringify(counted)}`);
  return tools.length;
}

async function progressAndLogs(client, logs, mode) {
  const progress = [];
  // Revision 2026-07-28 sends log messages only to requests that name a
  // level; the handshake revisions use the session's (info by default).
  const meta = mode === "auto" ? { [LOG_LEVEL_KEY]: "info" } : undefined;
  const stepped = await client.callTool(
    { name: "misbehave.progress", arguments: { steps: 3 }, ...(meta ? { _meta: meta } : {}) },
    { onprogress: ({ progress: done, total }) => progress.push([done, total]) },
  );
  check(stepped.structuredContent.steps === 3, `[${mode}] misbehave.progress`);
  // Progress handed to `onprogress` may trail the response by a microtask.
  await new Promise((resolve) => setTimeout(resolve, 100));
  check(
    JSON.stringify(progress) === JSON.stringify([[1, 3], [2, 3], [3, 3]]),
    `[${mode}] progress notifications: ${JSON.stringify(progress)}`,
  );
  check(
    JSON.stringify(logs.map((entry) => [entry.level, entry.data]))
      === JSON.stringify([1, 2, 3].map((step) => ["info", `step ${step} of 3`])),
    `[${mode}] log notifications: ${JSON.stringify(logs)}`,
  );
}

async function askTheClient(client, asked, mode) {
  const question = (kind, request) => ({ kind, request });
  const result = await client.callTool({
    name: "misbehave.ask",
    arguments: {
      questions: [
        question("sample", {
          messages: [{ role: "user", content: { type: "text", text: "capital of France?" } }],
          maxTokens: 20,
        }),
        question("elicit", {
          message: "Your name?",
          requestedSchema: { type: "object", properties: { name: { type: "string" } } },
        }),
      ],
    },
  });
  const answers = result.structuredContent?.answers;
  check(Array.isArray(answers), `[${mode}] misbehave.ask: ${JSON.stringify(result)}`);
  check(
    answers[0].answer?.content?.text === "echo: capital of France?",
    `[${mode}] sampled answer: ${JSON.stringify(answers[0])}`,
  );
  check(answers[1].answer?.content?.name === "Ada", `[${mode}] elicited answer: ${JSON.stringify(answers[1])}`);
  check(asked.includes("sample: capital of France?"), `[${mode}] the sampling handler ran: ${asked}`);
  check(asked.includes("elicit: Your name?"), `[${mode}] the elicitation handler ran: ${asked}`);
}

async function abandonLongCall(client, mode) {
  const abandon = new AbortController();
  const started = Date.now();
  setTimeout(() => abandon.abort(new Error("abandoned by the client")), 1000);
  try {
    await client.callTool({ name: "misbehave.sleep", arguments: { ms: 30000 } }, { signal: abandon.signal });
    check(false, `[${mode}] an aborted 30 s call must not complete`);
  } catch (error) {
    check(String(error).includes("abandoned by the client"), `[${mode}] aborted call: ${error}`);
  }
  check(Date.now() - started < 20000, `[${mode}] the abort took effect at once`);
  const after = await client.callTool({ name: "text.count", arguments: { text: "still here" } });
  check(after.structuredContent.words === 2, `[${mode}] a call after the aborted one`);
}

async function main([mode, url]) {
  check(mode === "auto" || mode === "legacy", `unknown mode ${mode}: use auto or legacy`);
  const client = new Client(
    { name: "warden-e2e-v2", version: "1.0.0" },
    {
      capabilities: { sampling: {}, elicitation: { form: {} } },
      versionNegotiation: { mode },
    },
  );
  const logs = [];
  client.setNotificationHandler("notifications/message", (notification) => {
    logs.push(notification.params);
  });
  const asked = [];
  answerRequests(client, asked);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const expected = mode === "auto" ? "2026-07-28" : "2025-11-25";
    const negotiated = client.getNegotiatedProtocolVersion();
    check(negotiated === expected, `[${mode}] negotiated ${negotiated}, expected ${expected}`);
    const listed = await listAndCall(client, mode);
    await progressAndLogs(client, logs, mode);
    await askTheClient(client, asked, mode);
    await abandonLongCall(client, mode);
    console.log(`[${mode}] ok: protocol ${negotiated}, ${listed} tools listed, sampling and elicitation answered`);
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});

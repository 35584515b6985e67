// Drives Warden with the official MCP TypeScript SDK client.
//
// Usage: node e2e_client.mjs http URL
//        node e2e_client.mjs stdio WARDEN_BINARY CONFIG
//
// Lists the tools, calls every example tool and checks content, structured
// content (the SDK also checks it against each tool's output schema) and
// isError; receives a tool's progress and log notifications while it runs;
// raises the session's log level and sees the tool's info lines filtered
// out; aborts a long call (the SDK sends `notifications/cancelled`) and goes
// on. Exits non-zero with a message on the first mismatch.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  LoggingMessageNotificationSchema,
  ProgressNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const EXPECTED_TOOLS = [
  "text.count", "text.case", "text.replace", "text.find",
  "json.query", "json.format",
  "files.list", "files.read", "files.search", "files.write",
];

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function textOf(result) {
  return result.content.map((item) => item.text ?? "").join("");
}

function transportFor(mode, args) {
  if (mode === "http") {
    return new StreamableHTTPClientTransport(new URL(args[0]));
  }
  if (mode === "stdio") {
    return new StdioClientTransport({
      command: args[0],
      args: ["serve", "--stdio", "--config", args[1]],
      stderr: "ignore",
    });
  }
  throw new Error(`unknown mode ${mode}: use http or stdio`);
}

async function listAllTools(client) {
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

async function callEveryExampleTool(client, mode) {
  const call = (name, args) => client.callTool({ name, arguments: args });

  const counted = await call("text.count", { text: "one two three\nfour" });
  check(!counted.isError, `[${mode}] text.count failed: ${textOf(counted)}`);
  check(counted.structuredContent.words === 4, `[${mode}] text.count: ${JSON.stringify(counted.structuredContent)}`);
  check(JSON.parse(textOf(counted)).lines === 2, `[${mode}] text.count text content`);

  const cased = await call("text.case", { text: "hello world", to: "kebab" });
  check(cased.structuredContent.text === "hello-world", `[${mode}] text.case`);

  const replaced = await call("text.replace", { text: "2024-01-02", pattern: "-", replacement: "/" });
  check(replaced.structuredContent.text === "2024/01/02", `[${mode}] text.replace`);

  const found = await call("text.find", { text: "cat hat bat", pattern: "[ch]at" });
  check(found.structuredContent.matches.length === 2, `[${mode}] text.find`);

  const queried = await call("json.query", { document: { a: [1, 2, 3] }, query: "[.a[] * 10]" });
  check(
    JSON.stringify(queried.structuredContent.results) === "[[10,20,30]]",
    `[${mode}] json.query: ${JSON.stringify(queried.structuredContent)}`,
  );

  const formatted = await call("json.format", { document: { b: 1, a: 2 }, indent: 0, sort_keys: true });
  check(formatted.structuredContent.text === '{"a":2,"b":1}', `[${mode}] json.format`);

  const listed = await call("files.list", { path: "/data" });
  check(!listed.isError && JSON.stringify(listed.structuredContent).includes("notes.md"), `[${mode}] files.list`);

  const read = await call("files.read", { path: "/data/notes.md" });
  check(read.structuredContent.content.includes("warden runs tools"), `[${mode}] files.read`);

  const searched = await call("files.search", { path: "/data", pattern: "warden" });
  check(searched.structuredContent.matches.length >= 1, `[${mode}] files.search`);

  const refused = await call("files.write", { path: "/data/new.txt", content: "x" });
  check(refused.isError === true, `[${mode}] files.write on a read-only dir must fail`);

  const invalid = await call("text.count", { text: 42 });
  check(invalid.isError === true && textOf(invalid).includes("/text"), `[${mode}] schema error: ${textOf(invalid)}`);
}

async function progressAndLogs(client, logs, mode) {
  // The SDK 1.x hands a progress notification to the request's `onprogress`
  // a microtask late, after a response read in the same chunk has retired
  // the handler (typescript-sdk issue 2580): over stdio a fast tool's last
  // notifications would be lost in the client. The connection-wide handler
  // sees every notification the server sent, in order; `onprogress` is still
  // passed so the SDK asks for progress with a token.
  const progress = [];
  client.setNotificationHandler(ProgressNotificationSchema, ({ params }) => {
    progress.push([params.progress, params.total, params.message]);
  });
  const stepped = await client.callTool(
    { name: "misbehave.progress", arguments: { steps: 3 } },
    undefined,
    { onprogress: () => {} },
  );
  check(stepped.structuredContent.steps === 3, `[${mode}] misbehave.progress`);
  check(
    JSON.stringify(progress) === JSON.stringify([[1, 3, "step 1 of 3"], [2, 3, "step 2 of 3"], [3, 3, "step 3 of 3"]]),
    `[${mode}] progress notifications: ${JSON.stringify(progress)}`,
  );
  check(
    JSON.stringify(logs.map((entry) => [entry.level, entry.logger, entry.data]))
      === JSON.stringify([1, 2, 3].map((step) => ["info", "misbehave.progress", `step ${step} of 3`])),
    `[${mode}] log notifications: ${JSON.stringify(logs)}`,
  );

  // The tool logs at info: above the session's level, nothing arrives.
  logs.length = 0;
  await client.setLoggingLevel("warning");
  await client.callTool({ name: "misbehave.progress", arguments: { steps: 2 } });
  check(logs.length === 0, `[${mode}] info lines past a warning level: ${JSON.stringify(logs)}`);
}

async function abandonLongCall(client, mode) {
  const abandon = new AbortController();
  const started = Date.now();
  setTimeout(() => abandon.abort(new Error("abandoned by the client")), 1000);
  try {
    await client.callTool({ name: "misbehave.sleep", arguments: { ms: 30000 } }, undefined, { signal: abandon.signal });
    check(false, `[${mode}] an aborted 30 s call must not complete`);
  } catch (error) {
    check(String(error).includes("abandoned by the client"), `[${mode}] aborted call: ${error}`);
  }
  check(Date.now() - started < 20000, `[${mode}] the abort took effect at once`);
  const after = await client.callTool({ name: "text.count", arguments: { text: "still here" } });
  check(after.structuredContent.words === 2, `[${mode}] a call after the aborted one`);
}

async function main([mode, ...args]) {
  const client = new Client({ name: "warden-e2e", version: "1.0.0" });
  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push(notification.params);
  });
  await client.connect(transportFor(mode, args));
  try {
    const tools = await listAllTools(client);
    const names = new Set(tools.map((tool) => tool.name));
    const missing = EXPECTED_TOOLS.filter((name) => !names.has(name));
    check(missing.length === 0, `[${mode}] missing tools: ${missing}`);
    const count = tools.find((tool) => tool.name === "text.count");
    check(count.inputSchema.type === "object", `[${mode}] text.count schema`);

    await callEveryExampleTool(client, mode);
    await progressAndLogs(client, logs, mode);
    await abandonLongCall(client, mode);
    console.log(
      `[${mode}] ok: protocol ${client.transport.protocolVersion ?? "negotiated"}, ${tools.length} tools listed, every example tool called`,
    );
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});

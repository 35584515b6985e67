// Runs tool calls as tasks with the official MCP TypeScript SDK's
// experimental tasks client (revision 2025-11-25).
//
// Usage: node tasks_client.mjs URL
//
// Against the test config with misbehave's tools allowed five seconds as
// tasks: checks the server's tasks capability, lists every page of tools
// (the client learns from `execution.taskSupport` which tools run as
// tasks), streams a 1.2 s `misbehave.sleep` as a task to its result (past
// the half-second limit of a plain call), reads the task back and finds
// it in the list, then starts a 4 s one and cancels it. Exits non-zero
// with a message on the first mismatch.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const show = (value) => JSON.stringify(value);

async function main() {
  const url = process.argv[2];
  const client = new Client({ name: "warden-tasks-test", version: "0" }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const capabilities = client.getServerCapabilities();
  check(capabilities?.tasks?.requests?.tools?.call, `no tasks capability: ${show(capabilities)}`);

  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  const sleep = tools.find((tool) => tool.name === "misbehave.sleep");
  check(sleep?.execution?.taskSupport === "optional", `misbehave.sleep listed as ${show(sleep)}`);

  // The SDK remembers the task tools of the last page it listed only, so
  // the task is asked for explicitly.
  const asTask = { task: { ttl: 60000 } };
  const messages = [];
  const stream = client.experimental.tasks.callToolStream(
    { name: "misbehave.sleep", arguments: { ms: 1200 } },
    undefined,
    asTask,
  );
  for await (const message of stream) {
    messages.push(message);
  }
  const kinds = messages.map((message) => message.type);
  check(kinds[0] === "taskCreated", `the stream began with ${show(kinds)}`);
  const last = messages.at(-1);
  check(last.type === "result", `the stream ended with ${show(last)}`);
  check(last.result.isError === false, `the task's result: ${show(last.result)}`);
  const taskId = messages[0].task.taskId;
  const task = await client.experimental.tasks.getTask(taskId);
  check(task.status === "completed", `the task after its result: ${show(task)}`);
  const listed = await client.experimental.tasks.listTasks();
  check(listed.tasks.some((listed) => listed.taskId === taskId), `not listed: ${show(listed)}`);

  const long = client.experimental.tasks.callToolStream(
    { name: "misbehave.sleep", arguments: { ms: 4000 } },
    undefined,
    asTask,
  );
  const created = (await long.next()).value;
  check(created.type === "taskCreated", `the long task began with ${show(created)}`);
  const cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
  check(cancelled.status === "cancelled", `cancelTask answered ${show(cancelled)}`);
  await long.return();
  const after = await client.experimental.tasks.getTask(created.task.taskId);
  check(after.status === "cancelled", `the cancelled task: ${show(after)}`);

  await client.close();
  console.log(`ok: task ${taskId} streamed to its result over ${kinds.length} messages; another cancelled`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

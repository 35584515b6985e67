// Reads what a running Warden serves besides tools with the official MCP
// TypeScript SDK client: resources, resource templates, prompts and
// completions.
//
// Usage: node served_client.mjs URL
//
// Against the test config (page size 3, the data folder holding notes.md
// and sub/more.txt), over Streamable HTTP: lists every page of resources and
// of resource templates, reads file:///data/notes.md (text and MIME type),
// reads a URI that names no resource (JSON-RPC error -32002), lists the
// prompts and gets `files.summarize` (an embedded resource, then the request
// as text), completes the `file:///data/{+path}` template's variable and the
// prompt's `path` argument, and subscribes to file:///data/notes.md and
// unsubscribes again. Exits non-zero with a message on the first mismatch.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const NOTES_URI = "file:///data/notes.md";
const NOTES_TEXT = "# Notes\nwarden runs tools\nin wasm\n";
const UNKNOWN_URI = "test://nothing/here";

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const show = (value) => JSON.stringify(value);

// Every item of a paginated listing, and how many pages it took.
async function listAll(fetch, key) {
  const items = [];
  let cursor;
  let pages = 0;
  do {
    const page = await fetch(cursor ? { cursor } : {});
    pages += 1;
    items.push(...page[key]);
    cursor = page.nextCursor;
    check(pages < 100, `${key}: the listing never ends`);
  } while (cursor);
  return { items, pages };
}

async function resources(client) {
  const { items: listed, pages } = await listAll((params) => client.listResources(params), "resources");
  const uris = listed.map((resource) => resource.uri);
  for (const expected of [NOTES_URI, "file:///data/sub/more.txt", "ui://text/count.html"]) {
    check(uris.includes(expected), `${expected} not in ${show(uris)}`);
  }
  check(uris.some((uri) => uri.startsWith("misbehave://")), `no misbehave:// resources in ${show(uris)}`);
  check(pages > 1, `${uris.length} resources on ${pages} page(s): the page size is 3`);
  check(new Set(uris).size === uris.length, `a resource listed twice: ${show(uris)}`);
  const notes = listed.find((resource) => resource.uri === NOTES_URI);
  check(notes.mimeType === "text/markdown" && notes.size === 34, `notes.md listed as ${show(notes)}`);
  const app = listed.find((resource) => resource.uri === "ui://text/count.html");
  check(app.mimeType === "text/html;profile=mcp-app", `the app listed as ${show(app)}`);

  const { items: templates, pages: templatePages } = await listAll(
    (params) => client.listResourceTemplates(params),
    "resourceTemplates",
  );
  const patterns = templates.map((template) => template.uriTemplate);
  for (const expected of ["file:///data/{+path}", "misbehave://items/{item}"]) {
    check(patterns.includes(expected), `template ${expected} not in ${show(patterns)}`);
  }

  const read = await client.readResource({ uri: NOTES_URI });
  check(
    show(read.contents) === show([{ uri: NOTES_URI, mimeType: "text/markdown", text: NOTES_TEXT }]),
    `read ${NOTES_URI}: ${show(read.contents)}`,
  );

  try {
    await client.readResource({ uri: UNKNOWN_URI });
    check(false, `reading ${UNKNOWN_URI} must fail`);
  } catch (error) {
    check(error instanceof McpError, `unknown resource: not a JSON-RPC error: ${error}`);
    check(error.code === -32002, `unknown resource: code ${error.code} (${error.message}), not -32002`);
    check(error.message.includes("Resource not found"), `unknown resource: ${error.message}`);
    check(error.data?.uri === UNKNOWN_URI, `unknown resource data: ${show(error.data)}`);
  }
  return `${uris.length} resources on ${pages} pages, ${patterns.length} templates on ${templatePages} page(s)`;
}

async function prompts(client) {
  const { items: listed, pages } = await listAll((params) => client.listPrompts(params), "prompts");
  const names = listed.map((prompt) => prompt.name);
  for (const expected of ["files.summarize", "misbehave.prompt_args", "misbehave.prompt_loop"]) {
    check(names.includes(expected), `prompt ${expected} not in ${show(names)}`);
  }
  const summarize = listed.find((prompt) => prompt.name === "files.summarize");
  const args = (summarize.arguments ?? []).map((argument) => [argument.name, argument.required === true]);
  check(show(args) === show([["focus", false], ["path", true]]), `files.summarize arguments ${show(args)}`);

  const got = await client.getPrompt({ name: "files.summarize", arguments: { path: "notes.md" } });
  check(got.messages.length === 2, `files.summarize messages: ${show(got.messages)}`);
  const [embedded, ask] = got.messages.map((message) => message.content);
  check(embedded.type === "resource", `first message: ${show(embedded)}`);
  check(
    embedded.resource.uri === NOTES_URI && embedded.resource.text === NOTES_TEXT,
    `embedded resource: ${show(embedded.resource)}`,
  );
  check(
    ask.type === "text" && ask.text === "Summarize the file above.",
    `second message: ${show(ask)}`,
  );
  return `${names.length} prompts on ${pages} page(s)`;
}

async function completions(client) {
  const byTemplate = await client.complete({
    ref: { type: "ref/resource", uri: "file:///data/{+path}" },
    argument: { name: "path", value: "su" },
  });
  check(show(byTemplate.completion.values) === show(["sub/"]), `template completion ${show(byTemplate)}`);
  const byPrompt = await client.complete({
    ref: { type: "ref/prompt", name: "files.summarize" },
    argument: { name: "path", value: "sub/" },
  });
  check(show(byPrompt.completion.values) === show(["sub/more.txt"]), `prompt completion ${show(byPrompt)}`);
}

async function subscriptions(client) {
  const subscribed = await client.subscribeResource({ uri: NOTES_URI });
  check(show(subscribed) === "{}", `resources/subscribe: ${show(subscribed)}`);
  const unsubscribed = await client.unsubscribeResource({ uri: NOTES_URI });
  check(show(unsubscribed) === "{}", `resources/unsubscribe: ${show(unsubscribed)}`);
}

async function main([url]) {
  check(url, "usage: node served_client.mjs URL");
  const client = new Client({ name: "warden-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    const protocol = transport.protocolVersion;
    check(protocol === "2025-11-25", `negotiated ${protocol}`);
    const capabilities = client.getServerCapabilities();
    check(
      capabilities?.resources?.subscribe === true && capabilities.prompts && capabilities.completions,
      `capabilities ${show(capabilities)}`,
    );
    const listed = await resources(client);
    const prompted = await prompts(client);
    await completions(client);
    await subscriptions(client);
    console.log(`[http] ok: protocol ${protocol}, ${listed}, ${prompted}, completed, subscribed and unsubscribed`);
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});

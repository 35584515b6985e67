// Reads what a running Warden serves besides tools with the official MCP
// TypeScript SDK v2 client (@modelcontextprotocol/client): resources,
// resource templates, prompts and completions, in revision 2026-07-28
// ("auto": the SDK probes with server/discover) or the handshake revisions
// ("legacy").
//
// Usage: node served_client_v2.mjs auto|legacy URL
//
// Against the test config (page size 3, the data folder holding notes.md
// and sub/more.txt): walks every page of resources by `nextCursor` (and
// checks the SDK's own aggregate of the pages agrees), lists the resource
// templates, reads file:///data/notes.md (text and MIME type), reads a URI
// that names no resource (an error with code -32602 in the SDK, whichever
// code the revision puts on the wire, and the URI in its data), lists the
// prompts and gets `files.summarize` (an embedded resource, then the
// request as text), completes the `file:///data/{+path}` template's
// variable and the prompt's `path` argument, and watches
// file:///data/notes.md: `resources/subscribe` then `resources/unsubscribe`
// in legacy, a `subscriptions/listen` naming it in 2026-07-28 (which removed
// the former two). Exits non-zero with a message on the first mismatch.

import {
  Client,
  ProtocolError,
  ResourceNotFoundError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";

const NOTES_URI = "file:///data/notes.md";
const NOTES_TEXT = "# Notes\nwarden runs tools\nin wasm\n";
const UNKNOWN_URI = "test://nothing/here";

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const show = (value) => JSON.stringify(value);

async function resources(client, mode) {
  // Page by page, following `nextCursor`: `listResources()` fetches one
  // page when given a cursor, and walks them all itself without one, so the
  // first page is asked for by method, as the SDK's per-page path does.
  const pages = [];
  let page = await client.request({ method: "resources/list", params: {} });
  for (;;) {
    pages.push(page.resources);
    check(page.resources.length <= 3, `[${mode}] a page of ${page.resources.length}: the page size is 3`);
    check(pages.length < 100, `[${mode}] resources: the listing never ends`);
    if (!page.nextCursor) {
      break;
    }
    page = await client.listResources({ cursor: page.nextCursor });
  }
  const all = pages.flat();
  const uris = all.map((resource) => resource.uri);
  check(pages.length > 1, `[${mode}] ${uris.length} resources on ${pages.length} page(s): the page size is 3`);
  const aggregated = (await client.listResources()).resources.map((resource) => resource.uri);
  check(show(uris) === show(aggregated), `[${mode}] paged ${show(uris)}, the SDK's aggregate ${show(aggregated)}`);
  for (const expected of [NOTES_URI, "file:///data/sub/more.txt", "ui://text/count.html"]) {
    check(uris.includes(expected), `[${mode}] ${expected} not in ${show(uris)}`);
  }
  check(uris.some((uri) => uri.startsWith("misbehave://")), `[${mode}] no misbehave:// resources in ${show(uris)}`);
  const notes = all.find((resource) => resource.uri === NOTES_URI);
  check(notes.mimeType === "text/markdown" && notes.size === 34, `[${mode}] notes.md listed as ${show(notes)}`);
  const app = all.find((resource) => resource.uri === "ui://text/count.html");
  check(app.mimeType === "text/html;profile=mcp-app", `[${mode}] the app listed as ${show(app)}`);

  const { resourceTemplates } = await client.listResourceTemplates();
  const patterns = resourceTemplates.map((template) => template.uriTemplate);
  for (const expected of ["file:///data/{+path}", "misbehave://items/{item}"]) {
    check(patterns.includes(expected), `[${mode}] template ${expected} not in ${show(patterns)}`);
  }

  const read = await client.readResource({ uri: NOTES_URI });
  check(read.contents.length === 1, `[${mode}] read ${NOTES_URI}: ${show(read.contents)}`);
  const [content] = read.contents;
  check(
    content.uri === NOTES_URI && content.mimeType === "text/markdown" && content.text === NOTES_TEXT,
    `[${mode}] read ${NOTES_URI}: ${show(content)}`,
  );

  // A miss is a ProtocolError with code -32602 and the URI in `data`. In
  // the handshake revisions the wire says -32002, which the SDK always
  // reports as its ResourceNotFoundError (code -32602). From 2026-07-28 the
  // wire says -32602, which the SDK 2.4.0 calls a ResourceNotFoundError only
  // when `data` is exactly `{uri}`; Warden's also has `warden/reason`.
  try {
    await client.readResource({ uri: UNKNOWN_URI });
    check(false, `[${mode}] reading ${UNKNOWN_URI} must fail`);
  } catch (error) {
    const seen = `${error} (code ${error.code}, data ${show(error.data)})`;
    check(error instanceof ProtocolError, `[${mode}] unknown resource: not a JSON-RPC error: ${seen}`);
    check(error.code === -32602 && error.data?.uri === UNKNOWN_URI, `[${mode}] unknown resource: ${seen}`);
    check(error.message.includes("Resource not found"), `[${mode}] unknown resource: ${seen}`);
    if (mode === "legacy") {
      check(error instanceof ResourceNotFoundError, `[${mode}] -32002 not taken for a miss: ${seen}`);
    }
  }
  return `${uris.length} resources on ${pages.length} pages, ${patterns.length} templates`;
}

async function prompts(client, mode) {
  const { prompts: listed } = await client.listPrompts();
  const names = listed.map((prompt) => prompt.name);
  for (const expected of ["files.summarize", "misbehave.prompt_args", "misbehave.prompt_loop"]) {
    check(names.includes(expected), `[${mode}] prompt ${expected} not in ${show(names)}`);
  }
  const summarize = listed.find((prompt) => prompt.name === "files.summarize");
  const args = (summarize.arguments ?? []).map((argument) => [argument.name, argument.required === true]);
  check(show(args) === show([["focus", false], ["path", true]]), `[${mode}] files.summarize arguments ${show(args)}`);

  const got = await client.getPrompt({ name: "files.summarize", arguments: { path: "notes.md" } });
  check(got.messages.length === 2, `[${mode}] files.summarize messages: ${show(got.messages)}`);
  const [embedded, ask] = got.messages.map((message) => message.content);
  check(embedded.type === "resource", `[${mode}] first message: ${show(embedded)}`);
  check(
    embedded.resource.uri === NOTES_URI && embedded.resource.text === NOTES_TEXT,
    `[${mode}] embedded resource: ${show(embedded.resource)}`,
  );
  check(
    ask.type === "text" && ask.text === "Summarize the file above.",
    `[${mode}] second message: ${show(ask)}`,
  );
  return `${names.length} prompts`;
}

async function completions(client, mode) {
  const byTemplate = await client.complete({
    ref: { type: "ref/resource", uri: "file:///data/{+path}" },
    argument: { name: "path", value: "su" },
  });
  check(show(byTemplate.completion.values) === show(["sub/"]), `[${mode}] template completion ${show(byTemplate)}`);
  const byPrompt = await client.complete({
    ref: { type: "ref/prompt", name: "files.summarize" },
    argument: { name: "path", value: "sub/" },
  });
  check(
    show(byPrompt.completion.values) === show(["sub/more.txt"]),
    `[${mode}] prompt completion ${show(byPrompt)}`,
  );
}

async function watch(client, mode) {
  if (mode === "legacy") {
    const subscribed = await client.subscribeResource({ uri: NOTES_URI });
    check(show(subscribed) === "{}", `[${mode}] resources/subscribe: ${show(subscribed)}`);
    const unsubscribed = await client.unsubscribeResource({ uri: NOTES_URI });
    check(show(unsubscribed) === "{}", `[${mode}] resources/unsubscribe: ${show(unsubscribed)}`);
    return "subscribed and unsubscribed";
  }
  const subscription = await client.listen({ resourceSubscriptions: [NOTES_URI] });
  try {
    check(
      show(subscription.honoredFilter.resourceSubscriptions) === show([NOTES_URI]),
      `[${mode}] listen honored ${show(subscription.honoredFilter)}`,
    );
  } finally {
    await subscription.close();
  }
  return "listened";
}

async function main([mode, url]) {
  check(mode === "auto" || mode === "legacy", `unknown mode ${mode}: use auto or legacy`);
  const client = new Client({ name: "warden-e2e-v2", version: "1.0.0" }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const expected = mode === "auto" ? "2026-07-28" : "2025-11-25";
    const negotiated = client.getNegotiatedProtocolVersion();
    check(negotiated === expected, `[${mode}] negotiated ${negotiated}, expected ${expected}`);
    const listed = await resources(client, mode);
    const prompted = await prompts(client, mode);
    await completions(client, mode);
    const watched = await watch(client, mode);
    console.log(`[${mode}] ok: protocol ${negotiated}, ${listed}, ${prompted}, completed, ${watched}`);
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});

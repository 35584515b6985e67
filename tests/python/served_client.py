"""Reads what a running Warden serves besides tools with the official MCP
Python SDK client: resources, resource templates, prompts and completions.

Usage: python served_client.py URL

Against the test config (page size 3, the data folder holding notes.md and
sub/more.txt): lists every page of resources and of resource templates,
reads file:///data/notes.md (text and MIME type), reads a URI that names
no resource (a JSON-RPC error: -32002 in the handshake revisions, -32602
from 2026-07-28), lists the prompts and gets `files.summarize` (an embedded
resource, then the request as text), completes the `file:///data/{+path}`
template's variable and the prompt's `path` argument, and watches
file:///data/notes.md: `resources/subscribe` then `resources/unsubscribe`
in the handshake revisions, a `subscriptions/listen` naming it in
2026-07-28 (which removed the former two). Once in legacy mode (the
initialize handshake, 2025-11-25) and once with the SDK's default connect
mode (2026-07-28). Exits non-zero with a message on the first mismatch.
"""

from __future__ import annotations

import asyncio
import sys
import warnings

from mcp import Client, MCPDeprecationWarning, MCPError
from mcp.types import PromptReference, ResourceTemplateReference

NOTES_URI = "file:///data/notes.md"
NOTES_TEXT = "# Notes\nwarden runs tools\nin wasm\n"
UNKNOWN_URI = "test://nothing/here"
EXPECTED_PROTOCOL = {"legacy": "2025-11-25", "auto": "2026-07-28"}
NOT_FOUND_CODE = {"legacy": -32002, "auto": -32602}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


async def list_all(fetch, key: str, mode: str) -> tuple[list, int]:
    """Every item of a paginated listing, and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        page = await fetch(cursor=cursor)
        pages += 1
        items.extend(getattr(page, key))
        cursor = page.next_cursor
        if not cursor:
            return items, pages
        check(pages < 100, f"[{mode}] {key}: the listing never ends")


async def resources(client: Client, mode: str) -> str:
    listed, pages = await list_all(client.list_resources, "resources", mode)
    uris = [str(resource.uri) for resource in listed]
    for expected in (NOTES_URI, "file:///data/sub/more.txt", "ui://text/count.html"):
        check(expected in uris, f"[{mode}] {expected} not in {uris}")
    check(any(uri.startswith("misbehave://") for uri in uris), f"[{mode}] no misbehave:// resources in {uris}")
    check(pages > 1, f"[{mode}] {len(uris)} resources on {pages} page(s): the page size is 3")
    check(len(uris) == len(set(uris)), f"[{mode}] a resource listed twice: {uris}")
    by_uri = {str(resource.uri): resource for resource in listed}
    notes = by_uri[NOTES_URI]
    check(notes.mime_type == "text/markdown", f"[{mode}] notes.md MIME type {notes.mime_type}")
    check(notes.size == 34, f"[{mode}] notes.md size {notes.size}")
    app = by_uri["ui://text/count.html"]
    check(app.mime_type == "text/html;profile=mcp-app", f"[{mode}] the app's MIME type {app.mime_type}")

    templates, template_pages = await list_all(client.list_resource_templates, "resource_templates", mode)
    patterns = [template.uri_template for template in templates]
    for expected in ("file:///data/{+path}", "misbehave://items/{item}"):
        check(expected in patterns, f"[{mode}] template {expected} not in {patterns}")

    read = await client.read_resource(NOTES_URI)
    check(len(read.contents) == 1, f"[{mode}] read {NOTES_URI}: {read.contents}")
    content = read.contents[0]
    check(str(content.uri) == NOTES_URI, f"[{mode}] read content's URI {content.uri}")
    check(content.mime_type == "text/markdown", f"[{mode}] read content's MIME type {content.mime_type}")
    check(getattr(content, "text", None) == NOTES_TEXT, f"[{mode}] read content's text {content!r}")

    try:
        await client.read_resource(UNKNOWN_URI)
        check(False, f"[{mode}] reading {UNKNOWN_URI} must fail")
    except MCPError as error:
        check(
            error.code == NOT_FOUND_CODE[mode],
            f"[{mode}] unknown resource: code {error.code} ({error.message}), not {NOT_FOUND_CODE[mode]}",
        )
        check("Resource not found" in error.message, f"[{mode}] unknown resource: {error.message}")
        check((error.data or {}).get("uri") == UNKNOWN_URI, f"[{mode}] unknown resource data: {error.data}")
    return f"{len(uris)} resources on {pages} pages, {len(patterns)} templates on {template_pages} page(s)"


async def prompts(client: Client, mode: str) -> str:
    listed, pages = await list_all(client.list_prompts, "prompts", mode)
    names = [prompt.name for prompt in listed]
    for expected in ("files.summarize", "misbehave.prompt_args", "misbehave.prompt_loop"):
        check(expected in names, f"[{mode}] prompt {expected} not in {names}")
    summarize = next(prompt for prompt in listed if prompt.name == "files.summarize")
    arguments = [(argument.name, bool(argument.required)) for argument in summarize.arguments or []]
    check(arguments == [("focus", False), ("path", True)], f"[{mode}] files.summarize arguments {arguments}")

    got = await client.get_prompt("files.summarize", {"path": "notes.md"})
    check(len(got.messages) == 2, f"[{mode}] files.summarize messages: {got.messages}")
    embedded, ask = got.messages[0].content, got.messages[1].content
    check(embedded.type == "resource", f"[{mode}] first message: {embedded!r}")
    check(str(embedded.resource.uri) == NOTES_URI, f"[{mode}] embedded resource URI {embedded.resource.uri}")
    check(
        getattr(embedded.resource, "text", None) == NOTES_TEXT,
        f"[{mode}] embedded resource text {embedded.resource!r}",
    )
    check(ask.type == "text", f"[{mode}] second message: {ask!r}")
    check(ask.text == "Summarize the file above.", f"[{mode}] second message text {ask.text!r}")
    return f"{len(names)} prompts on {pages} page(s)"


async def completions(client: Client, mode: str) -> None:
    by_template = await client.complete(
        ResourceTemplateReference(uri="file:///data/{+path}"), {"name": "path", "value": "su"}
    )
    check(by_template.completion.values == ["sub/"], f"[{mode}] template completion {by_template.completion}")
    by_prompt = await client.complete(PromptReference(name="files.summarize"), {"name": "path", "value": "sub/"})
    check(by_prompt.completion.values == ["sub/more.txt"], f"[{mode}] prompt completion {by_prompt.completion}")


async def watch(client: Client, mode: str) -> str:
    if mode == "legacy":
        with warnings.catch_warnings():
            # Deprecated as of 2026-07-28, current in 2025-11-25.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            subscribed = await client.subscribe_resource(NOTES_URI)
            unsubscribed = await client.unsubscribe_resource(NOTES_URI)
        for what, result in (("subscribe", subscribed), ("unsubscribe", unsubscribed)):
            extra = result.model_dump(exclude_none=True, by_alias=True)
            check(extra == {}, f"[{mode}] resources/{what}: {extra}")
        return "subscribed and unsubscribed"
    async with client.listen(resource_subscriptions=[NOTES_URI]) as subscription:
        honored = list(subscription.honored.resource_subscriptions or [])
        check(honored == [NOTES_URI], f"[{mode}] listen honored {subscription.honored}")
    return "listened"


async def exercise(url: str, mode: str) -> None:
    async with Client(url, mode=mode) as client:
        check(
            client.protocol_version == EXPECTED_PROTOCOL[mode],
            f"[{mode}] negotiated {client.protocol_version}",
        )
        capabilities = client.server_capabilities
        check(
            capabilities.resources is not None
            and capabilities.prompts is not None
            and capabilities.completions is not None,
            f"[{mode}] capabilities {capabilities}",
        )
        listed = await resources(client, mode)
        prompted = await prompts(client, mode)
        await completions(client, mode)
        watched = await watch(client, mode)
        print(f"[{mode}] ok: protocol {client.protocol_version}, {listed}, {prompted}, completed, {watched}")


async def main(args: list[str]) -> None:
    (url,) = args
    for mode in ("legacy", "auto"):
        await exercise(url, mode)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

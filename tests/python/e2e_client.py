"""Drives a running Warden with the official MCP Python SDK client.

Usage: python e2e_client.py URL
       python e2e_client.py --stdio WARDEN_BINARY CONFIG

Lists the tools, calls every example tool, and checks content and isError;
receives a tool's progress and log notifications while it runs; abandons a
long call (the SDK then cancels it: `notifications/cancelled` in a session,
closing the request's stream in 2026-07-28) and goes on. Once with the
SDK's default connect mode (which probes `server/discover`, finds
2026-07-28 and adopts it), once pinned to 2026-07-28, and once in legacy
mode (the initialize handshake, 2025-11-25). Exits non-zero with a message
on the first mismatch.
"""

from __future__ import annotations

import asyncio
import json
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

EXPECTED_TOOLS = {
    "text.count", "text.case", "text.replace", "text.find",
    "json.query", "json.format",
    "files.list", "files.read", "files.search", "files.write",
}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def text_of(result) -> str:
    return "".join(getattr(item, "text", "") for item in result.content)


async def list_all_tools(client: Client) -> list:
    tools, cursor = [], None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


EXPECTED_PROTOCOL = {"auto": "2026-07-28", "2026-07-28": "2026-07-28", "legacy": "2025-11-25"}


async def exercise(server, mode: str) -> None:
    logs: list = []

    async def on_log(params) -> None:
        logs.append(params)

    # `log_level` opts in to log messages on 2026-07-28 connections; the
    # handshake revisions start at the server's default level (info).
    async with Client(server, mode=mode, logging_callback=on_log, log_level="info") as client:
        check(
            client.protocol_version == EXPECTED_PROTOCOL[mode],
            f"[{mode}] negotiated {client.protocol_version}",
        )
        tools = await list_all_tools(client)
        names = {tool.name for tool in tools}
        check(EXPECTED_TOOLS <= names, f"[{mode}] missing tools: {EXPECTED_TOOLS - names}")
        by_name = {tool.name: tool for tool in tools}
        check(by_name["text.count"].input_schema.get("type") == "object", f"[{mode}] text.count schema")

        counted = await client.call_tool("text.count", {"text": "one two three\nfour"})
        check(not counted.is_error, f"[{mode}] text.count failed: {text_of(counted)}")
        check(counted.structured_content["words"] == 4, f"[{mode}] text.count: {counted.structured_content}")
        check(json.loads(text_of(counted))["lines"] == 2, f"[{mode}] text.count text content")

        cased = await client.call_tool("text.case", {"text": "hello world", "to": "kebab"})
        check(cased.structured_content["text"] == "hello-world", f"[{mode}] text.case: {cased.structured_content}")

        replaced = await client.call_tool("text.replace", {"text": "2024-01-02", "pattern": "-", "replacement": "/"})
        check(replaced.structured_content["text"] == "2024/01/02", f"[{mode}] text.replace")

        found = await client.call_tool("text.find", {"text": "cat hat bat", "pattern": "[ch]at"})
        check(len(found.structured_content["matches"]) == 2, f"[{mode}] text.find")

        queried = await client.call_tool("json.query", {"document": {"a": [1, 2, 3]}, "query": "[.a[] * 10]"})
        check(queried.structured_content["results"] == [[10, 20, 30]], f"[{mode}] json.query: {queried.structured_content}")

        formatted = await client.call_tool("json.format", {"document": {"b": 1, "a": 2}, "indent": 0, "sort_keys": True})
        check(formatted.structured_content["text"] == '{"a":2,"b":1}', f"[{mode}] json.format: {formatted.structured_content}")

        listed = await client.call_tool("files.list", {"path": "/data"})
        check(not listed.is_error and "notes.md" in json.dumps(listed.structured_content), f"[{mode}] files.list")

        read = await client.call_tool("files.read", {"path": "/data/notes.md"})
        check("warden runs tools" in read.structured_content["content"], f"[{mode}] files.read")

        searched = await client.call_tool("files.search", {"path": "/data", "pattern": "warden"})
        check(len(searched.structured_content["matches"]) >= 1, f"[{mode}] files.search")

        refused = await client.call_tool("files.write", {"path": "/data/new.txt", "content": "x"})
        check(refused.is_error, f"[{mode}] files.write on a read-only dir must fail")

        invalid = await client.call_tool("text.count", {"text": 42})
        check(invalid.is_error and "/text" in text_of(invalid), f"[{mode}] schema error: {text_of(invalid)}")

        progress: list = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        stepped = await client.call_tool("misbehave.progress", {"steps": 3}, progress_callback=on_progress)
        check(stepped.structured_content["steps"] == 3, f"[{mode}] misbehave.progress: {stepped.structured_content}")
        check(
            progress == [(1.0, 3.0, "step 1 of 3"), (2.0, 3.0, "step 2 of 3"), (3.0, 3.0, "step 3 of 3")],
            f"[{mode}] progress notifications: {progress}",
        )
        lines = [(str(entry.level), entry.logger, entry.data) for entry in logs]
        check(
            [data for (_, _, data) in lines] == ["step 1 of 3", "step 2 of 3", "step 3 of 3"]
            and all(logger == "misbehave.progress" and "info" in level for (level, logger, _) in lines),
            f"[{mode}] log notifications: {lines}",
        )

        try:
            await client.call_tool("misbehave.sleep", {"ms": 30000}, read_timeout_seconds=1.0)
            check(False, f"[{mode}] a 30 s call must not finish within its 1 s read timeout")
        except MCPError as timed_out:
            check("timed out" in str(timed_out), f"[{mode}] abandoned call: {timed_out}")
        after = await client.call_tool("text.count", {"text": "still here"})
        check(after.structured_content["words"] == 2, f"[{mode}] a call after the abandoned one")
        print(f"[{mode}] ok: protocol {client.protocol_version}, {len(tools)} tools listed, every example tool called")


async def main(args: list[str]) -> None:
    if args[0] == "--stdio":
        server = StdioServerParameters(command=args[1], args=["serve", "--stdio", "--config", args[2]])
    else:
        server = args[0]
    for mode in ("auto", "2026-07-28", "legacy"):
        await exercise(server, mode)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

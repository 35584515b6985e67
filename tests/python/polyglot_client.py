"""Drives a running Warden serving the Python and JavaScript components
with the official MCP Python SDK client.

Usage: python polyglot_client.py URL

Calls `stats.describe`, `stats.compare`, `markdown.render` and
`markdown.outline`, checks their schemas and validates their structured
content against their output schemas; then has the `pymisbehave` and
`jsmisbehave` components break each limit (an endless loop under a time
limit and under fuel, a memory hog, an exception, a file outside the granted
folder, a log flood) and checks that each call fails with its reason while
the server goes on answering. Prints one line per check; exits non-zero with
a message on the first mismatch.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request

import jsonschema
from mcp import Client

EXAMPLE_TOOLS = {"stats.describe", "stats.compare", "markdown.render", "markdown.outline"}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def text_of(result) -> str:
    return "".join(getattr(item, "text", "") for item in result.content)


def reason_of(result) -> str | None:
    meta = getattr(result, "meta", None) or {}
    return meta.get("warden/reason")


async def list_all_tools(client: Client) -> dict:
    tools, cursor = {}, None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.update({tool.name: tool for tool in page.tools})
        cursor = page.next_cursor
        if not cursor:
            return tools


async def call_checked(client: Client, tools: dict, name: str, arguments: dict):
    """Calls an example tool and validates its structured content."""
    result = await client.call_tool(name, arguments)
    check(not result.is_error, f"{name} failed: {text_of(result)}")
    schema = tools[name].output_schema
    check(schema is not None, f"{name} has no output schema")
    jsonschema.validate(result.structured_content, schema)
    return result.structured_content


async def still_healthy(client: Client, url: str, after: str) -> None:
    described = await client.call_tool("stats.describe", {"values": [2, 4]})
    check(described.structured_content["mean"] == 3.0, f"stats.describe after {after}")
    rendered = await client.call_tool("markdown.render", {"markdown": "*ok*"})
    check(rendered.structured_content["html"] == "<p><em>ok</em></p>\n", f"markdown.render after {after}")
    health = urllib.request.urlopen(url.replace("/mcp", "/readyz"), timeout=5)
    check(health.status == 200, f"/readyz after {after}: {health.status}")


async def breaches(client: Client, url: str) -> None:
    expected = [
        ("pymisbehave.spin", {}, "timeout", "time limit"),
        ("fuel.pymisbehave.spin", {}, "out_of_fuel", "fuel"),
        ("pymisbehave.hog", {}, "memory_limit", "memory limit"),
        ("pymisbehave.fail", {"message": "bad input 42"}, "tool_error", "ValueError: bad input 42"),
        ("pymisbehave.read", {"path": "/etc/passwd"}, "tool_error", "No such file or directory"),
        ("pymisbehave.read", {"path": "/data/../../etc/passwd"}, "tool_error", "Errno"),
        ("pymisbehave.flood", {"count": 1000}, "log_limit_exceeded", "logged more than its limit"),
        ("jsmisbehave.spin", {}, "timeout", "time limit"),
        ("fuel.jsmisbehave.spin", {}, "out_of_fuel", "fuel"),
        ("jsmisbehave.hog", {}, "memory_limit", "memory limit"),
        ("jsmisbehave.fail", {"message": "bad input 42"}, "tool_error", "RangeError: bad input 42"),
        ("jsmisbehave.flood", {"count": 1000}, "log_limit_exceeded", "logged more than its limit"),
    ]
    for name, arguments, reason, words in expected:
        result = await client.call_tool(name, arguments)
        text = text_of(result)
        check(result.is_error, f"{name} must fail, got: {text}")
        check(reason_of(result) == reason, f"{name}: reason {reason_of(result)}, expected {reason}: {text}")
        check(words in text, f"{name}: {text!r} does not say {words!r}")
        await still_healthy(client, url, name)
        print(f"ok: {name} ended as {reason}: {text}")

    granted = await client.call_tool("pymisbehave.read", {"path": "/data/notes.txt"})
    check(not granted.is_error and text_of(granted) == "granted\n", f"read in the granted dir: {text_of(granted)}")
    print("ok: pymisbehave.read inside the granted dir")


async def main(url: str) -> None:
    async with Client(url) as client:
        tools = await list_all_tools(client)
        check(EXAMPLE_TOOLS <= set(tools), f"missing tools: {EXAMPLE_TOOLS - set(tools)}")
        for name in sorted(EXAMPLE_TOOLS):
            jsonschema.Draft202012Validator.check_schema(tools[name].input_schema)
            jsonschema.Draft202012Validator.check_schema(tools[name].output_schema)
        check(tools["stats.describe"].input_schema["properties"]["values"]["minItems"] == 1,
              "stats.describe: values must have minItems 1")
        check(tools["markdown.render"].annotations.read_only_hint is True,
              "markdown.render is read-only")

        described = await call_checked(client, tools, "stats.describe", {"values": [1, 2, 3, 4, 10]})
        check(described["count"] == 5 and described["mean"] == 4.0 and described["median"] == 3.0,
              f"stats.describe: {described}")
        check(described["quantiles"] == [2.0, 3.0, 4.0], f"stats.describe quartiles: {described}")
        check(abs(described["stdev"] - 3.5355339059327378) < 1e-12, f"stats.describe stdev: {described}")
        empty = await client.call_tool("stats.describe", {"values": []})
        check(empty.is_error and "/values" in text_of(empty), f"an empty list: {text_of(empty)}")

        compared = await call_checked(client, tools, "stats.compare",
                                      {"series": {"a": [1, 2, 3], "b": [5, 6]}, "format": "github"})
        check(compared["table"].startswith("| series"), f"stats.compare table: {compared['table']}")
        check(compared["series"]["b"]["mean"] == 5.5, f"stats.compare: {compared}")

        rendered = await call_checked(client, tools, "markdown.render", {
            "markdown": "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
        })
        html = rendered["html"]
        check(html.startswith("<h1>Hi</h1>"), f"markdown.render: {html}")
        check("<script" not in html and "<img" not in html and 'href="javascript' not in html,
              f"markdown.render let markup through: {html}")
        outline = await call_checked(client, tools, "markdown.outline", {"markdown": "# A\n## B\n# A"})
        check([h["anchor"] for h in outline["headings"]] == ["a", "b", "a-1"], f"markdown.outline: {outline}")
        print("ok: the example tools answer with valid structured content")

        await breaches(client, url)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

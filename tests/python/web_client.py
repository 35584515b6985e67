"""Calls the `web` tools of a running Warden with the official MCP Python SDK.

Usage: python web_client.py URL UPSTREAM SECRET

UPSTREAM is the base URL of the test's web server, SECRET the token the
gateway adds to API requests. In each connect mode: `web.fetch` of the
server's page returns its readable text; `web.github_repo` reads a
repository through the API the token unlocks; a URL outside the policy is
a tool error naming it. No result may contain SECRET. Exits non-zero with
a message on the first mismatch.
"""

from __future__ import annotations

import asyncio
import json
import sys

from mcp import Client


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def text_of(result) -> str:
    return "".join(getattr(item, "text", "") for item in result.content)


async def exercise(url: str, upstream: str, secret: str, mode: str) -> None:
    async with Client(url, mode=mode) as client:
        page = await client.call_tool("web.fetch", {"url": f"{upstream}/page"})
        check(not page.is_error, f"[{mode}] web.fetch failed: {text_of(page)}")
        check(page.structured_content["title"] == "Warden & the web", f"[{mode}] title: {page.structured_content}")
        check(
            page.structured_content["text"] == "Tools that call APIs\nThe gateway sends every request.",
            f"[{mode}] text: {page.structured_content}",
        )

        repo = await client.call_tool("web.github_repo", {"owner": "python", "repo": "cpython"})
        check(not repo.is_error, f"[{mode}] web.github_repo failed: {text_of(repo)}")
        check(repo.structured_content["full_name"] == "python/cpython", f"[{mode}] repo: {repo.structured_content}")
        check(repo.structured_content["stars"] == 42, f"[{mode}] stars: {repo.structured_content}")

        denied = await client.call_tool("web.fetch", {"url": f"{upstream}/hello"})
        check(denied.is_error and "not allowed" in text_of(denied), f"[{mode}] denied: {text_of(denied)}")

        for result in (page, repo, denied):
            dumped = json.dumps(result.model_dump(mode="json"))
            check(secret not in dumped, f"[{mode}] a result shows the secret: {dumped}")
        print(f"[{mode}] ok: protocol {client.protocol_version}, web tools called")


async def main(args: list[str]) -> None:
    url, upstream, secret = args
    for mode in ("auto", "2026-07-28", "legacy"):
        await exercise(url, upstream, secret, mode)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

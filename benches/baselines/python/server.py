"""Baseline for Warden's load benchmark: the text and json tools served by
the official MCP Python SDK (MCPServer) over streamable HTTP on loopback.

Usage: python server.py --port PORT

Sessions are kept (Mcp-Session-Id, as Warden does) and responses are plain
application/json. The tools mirror tools/text and tools/json: the same
arguments, the same structured results (plus the same JSON as a text item,
which the SDK adds), regular expressions with Python's re and jq filters
with libjq.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import jq
from mcp.server.mcpserver import MCPServer

# pydantic needs typing_extensions' TypedDict below Python 3.12 to derive
# the output schema of nested ones (Found holds Match).
from typing_extensions import TypedDict

# Warden's text.find returns at most this many matches, whatever is asked.
MAX_FIND_MATCHES = 10_000

server = MCPServer("python-baseline", log_level="WARNING")


class Counts(TypedDict):
    chars: int
    words: int
    lines: int
    bytes: int


class Match(TypedDict):
    start: int
    end: int
    line: int
    text: str


class Found(TypedDict):
    matches: list[Match]
    truncated: bool


class QueryOutput(TypedDict):
    results: list[Any]


@server.tool(name="text.count")
def count(text: str) -> Counts:
    """Counts the characters, words, lines and UTF-8 bytes of a text."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return Counts(
        chars=len(text),
        words=len(text.split()),
        lines=len(lines),
        bytes=len(text.encode()),
    )


@server.tool(name="text.find")
def find(text: str, pattern: str, max_matches: int = 100) -> Found:
    """Finds matches of a regular expression and returns each match's byte
    offsets, line number and text."""
    # Over bytes, so offsets are UTF-8 byte offsets as in the Rust tool.
    data = text.encode()
    regex = re.compile(pattern.encode())
    limit = min(max(max_matches, 1), MAX_FIND_MATCHES)
    matches: list[Match] = []
    truncated = False
    line, counted_to = 1, 0
    for m in regex.finditer(data):
        if len(matches) == limit:
            truncated = True
            break
        line += data.count(b"\n", counted_to, m.start())
        counted_to = m.start()
        matches.append(Match(start=m.start(), end=m.end(), line=line, text=m.group().decode()))
    return Found(matches=matches, truncated=truncated)


@server.tool(name="json.query")
def query(query: str, document: Any = None) -> QueryOutput:
    """Runs a jq filter over a JSON document and returns every value it
    produces."""
    return QueryOutput(results=jq.compile(query).input_value(document).all())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server.run(
        "streamable-http",
        host="127.0.0.1",
        port=args.port,
        json_response=True,
        stateless_http=False,
    )


if __name__ == "__main__":
    main()

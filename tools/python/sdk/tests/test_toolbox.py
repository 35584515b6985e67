"""Tools from decorated functions, called as Warden calls them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import pytest

from warden_tool import ClientError, ToolError, Toolbox, ask_client, list_roots, log, progress
from warden_tool.testing import recording


@dataclass
class Total:
    total: float
    count: int


def make_toolbox() -> Toolbox:
    toolbox = Toolbox()

    @toolbox.tool("demo.sum", title="Sum", read_only=True)
    def total(values: List[float], scale: float = 1.0) -> Total:
        """Adds numbers.

        Args:
            values: The numbers.
            scale: What to multiply the sum by.
        """
        if not values:
            raise ToolError("nothing to add")
        progress(1, 1, "added")
        log("info", f"added {len(values)}")
        return Total(sum(values) * scale, len(values))

    @toolbox.tool("demo.roots")
    def roots() -> str:
        """Asks the client for its roots."""
        (answer,) = ask_client([list_roots()])
        if isinstance(answer, ClientError):
            raise ToolError(f"no roots: {answer}")
        return ", ".join(root["uri"] for root in answer["roots"])

    @toolbox.tool("demo.broken")
    def broken() -> str:
        """Fails."""
        return {}["missing"]

    return toolbox


def test_schemas_come_from_hints_and_docstring():
    tool = make_toolbox().tools["demo.sum"]
    assert tool.description == "Adds numbers."
    assert tool.input_schema == {
        "type": "object",
        "properties": {
            "values": {"type": "array", "items": {"type": "number"}, "description": "The numbers."},
            "scale": {"type": "number", "description": "What to multiply the sum by.",
                      "default": 1.0},
        },
        "required": ["values"],
        "additionalProperties": False,
    }
    assert tool.output_schema["required"] == ["total", "count"]
    assert tool.read_only is True and tool.title == "Sum"


def test_a_call_returns_structured_content_and_text():
    with recording() as host:
        result = make_toolbox().call("demo.sum", '{"values": [1, 2.5], "scale": 2}')
    assert not result.is_error
    assert result.structured_content == {"total": 7.0, "count": 2}
    assert result.text == '{"total":7.0,"count":2}'
    assert host.progress == [(1.0, 1.0, "added")]
    assert [message for _, message in host.logs] == ["added 2"]


def test_errors_are_tool_errors_with_the_message():
    toolbox = make_toolbox()
    assert toolbox.call("demo.sum", {"values": []}).text == "nothing to add"
    invalid = toolbox.call("demo.sum", {"values": ["x"]})
    assert invalid.is_error and invalid.text == "invalid arguments: values[0]: must be a number, not a string"
    broken = toolbox.call("demo.broken", {})
    assert broken.is_error and broken.text.startswith("KeyError: 'missing'")
    assert toolbox.call("demo.nope", {}).is_error
    assert toolbox.call("demo.sum", "[1]").text == "invalid arguments: must be a JSON object"


def test_client_requests_are_answered_in_order():
    toolbox = make_toolbox()
    with recording([{"roots": [{"uri": "file:///a"}, {"uri": "file:///b"}]}]) as host:
        assert toolbox.call("demo.roots", {}).text == "file:///a, file:///b"
    assert host.requests[0].kind == "list-roots"
    with recording():
        assert toolbox.call("demo.roots", {}).text.startswith("no roots: unsupported")


def test_definitions_are_checked():
    toolbox = Toolbox()
    with pytest.raises(ValueError):
        toolbox.tool("bad name")
    with pytest.raises(ValueError):
        @toolbox.tool("demo.undocumented")
        def undocumented() -> str:
            return ""
    with pytest.raises(TypeError):
        @toolbox.tool("demo.untyped")
        def untyped(x) -> str:
            """Untyped."""
            return x


def test_memory_errors_are_not_turned_into_results():
    toolbox = Toolbox()

    @toolbox.tool("demo.oom")
    def oom() -> str:
        """Runs out of memory."""
        raise MemoryError()

    with pytest.raises(MemoryError):
        toolbox.call("demo.oom", {})

"""The bridge to Warden's `warden:tool` interfaces, used only inside a
component built by componentize-py (the `wit_world` bindings exist only
there)."""

from __future__ import annotations

import gc
import json
import os
from typing import Any, Dict, List, Sequence, Tuple

from wit_world import exports
from wit_world.imports import host as wit_host
from wit_world.imports import types as wit
from componentize_py_types import Err

from . import host
from .toolbox import Audio, CallResult, Image, Toolbox, _dumps

_LEVELS = {level: getattr(wit.LogLevel, level.name) for level in host.LogLevel}
_KINDS = {
    "sample": wit.ClientRequestKind.SAMPLE,
    "elicit": wit.ClientRequestKind.ELICIT,
    "list-roots": wit.ClientRequestKind.LIST_ROOTS,
}
_ERRORS = {
    wit.ClientError_Unsupported: "unsupported",
    wit.ClientError_Invalid: "invalid",
    wit.ClientError_Refused: "refused",
    wit.ClientError_Unavailable: "unavailable",
}


class WitHost:
    """The host helpers, sent to Warden."""

    def log(self, level: host.LogLevel, message: str) -> None:
        wit_host.log(_LEVELS[level], message)

    def report_progress(self, done: float, total: Any, message: Any) -> None:
        wit_host.progress(done, total, message)

    def ask_client(self, requests: Sequence[host.ClientRequest]) -> List[host.Answer]:
        if any(request.kind not in _KINDS for request in requests):
            unknown = next(r.kind for r in requests if r.kind not in _KINDS)
            raise ValueError(f"unknown client request kind {unknown!r}")
        answers = wit_host.ask_client([
            wit.ClientRequest(_KINDS[r.kind], _dumps(r.params), r.key, r.optional)
            for r in requests
        ])
        out: List[host.Answer] = []
        for answer in answers:
            if isinstance(answer, Err):
                out.append(host.ClientError(_ERRORS[type(answer.value)], answer.value.value))
            else:
                out.append(json.loads(answer.value))
        return out


def _content(item: Any) -> Any:
    if isinstance(item, Image):
        return wit.Content_Image(wit.BinaryContent(item.data, item.mime_type))
    if isinstance(item, Audio):
        return wit.Content_Audio(wit.BinaryContent(item.data, item.mime_type))
    return wit.Content_Text(str(item))


def _wit_result(result: CallResult) -> Any:
    try:
        structured = result.structured_json()
    except (TypeError, ValueError) as error:
        return wit.CallResult([wit.Content_Text(f"the tool's output is not JSON: {error}")],
                              None, True)
    return wit.CallResult([_content(item) for item in result.content], structured,
                          result.is_error)


def _warm(toolbox: Toolbox, warm_up: Sequence[Tuple[str, Dict[str, Any]]]) -> None:
    previous = host.install(host.RecordingHost())
    try:
        for name, arguments in warm_up:
            result = toolbox.call(name, arguments)
            if result.is_error:
                raise RuntimeError(f"warm-up call of {name} failed: {result.text}")
    finally:
        host.install(previous)


def exported_tool(toolbox: Toolbox, warm_up: Sequence[Tuple[str, Dict[str, Any]]]) -> type:
    _warm(toolbox, warm_up)
    # Every object alive now is in the snapshot that each call starts from.
    # Frozen, the collector never visits them: a collection during a call
    # would otherwise write to the header of every object, and so copy
    # every page of the snapshot's heap into the call's instance.
    gc.collect()
    gc.freeze()
    host.install(WitHost())

    class Tool(exports.Tool):
        def list_tools(self) -> List[Any]:
            return [
                wit.ToolInfo(
                    tool.name,
                    tool.title,
                    tool.description,
                    _dumps(tool.input_schema),
                    None if tool.output_schema is None else _dumps(tool.output_schema),
                    wit.Annotations(tool.read_only, tool.destructive, tool.idempotent,
                                    tool.open_world),
                )
                for tool in toolbox.tools.values()
            ]

        def call_tool(self, name: str, arguments: str) -> Any:
            try:
                return _wit_result(toolbox.call(name, arguments))
            except MemoryError:
                # Ends the instance with a trap, which Warden reports as
                # `memory_limit` since it refused the memory the tool asked for.
                os.abort()

    return Tool

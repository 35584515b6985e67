"""Tools from typed functions: `Toolbox.tool` derives a tool's schemas from
its hints and docstring, and `Toolbox.call` runs it as Warden would."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import traceback
import typing
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import schema as schemas

__all__ = ["ToolError", "Tool", "Toolbox", "CallResult", "Image", "Audio"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class ToolError(Exception):
    """Raise it to end a call as a tool error (`isError: true`) whose text is
    the message. Any other exception does the same, prefixed with its type."""


@dataclasses.dataclass(frozen=True)
class Image:
    """Image content: raw bytes, sent base64-encoded."""

    data: bytes
    mime_type: str


@dataclasses.dataclass(frozen=True)
class Audio:
    """Audio content: raw bytes, sent base64-encoded."""

    data: bytes
    mime_type: str


Content = Union[str, Image, Audio]


@dataclasses.dataclass
class CallResult:
    """What a call returns: content items (text as `str`), the structured
    content as parsed JSON, and whether the tool failed."""

    content: List[Content]
    structured_content: Optional[Dict[str, Any]] = None
    is_error: bool = False

    @property
    def text(self) -> str:
        """The text items, joined: the error message when `is_error`."""
        return "\n".join(item for item in self.content if isinstance(item, str))

    def structured_json(self) -> Optional[str]:
        if self.structured_content is None:
            return None
        return _dumps(self.structured_content)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclasses.dataclass
class Tool:
    """One tool: its MCP description and the function that runs it."""

    name: str
    description: str
    function: Callable[..., Any]
    input_schema: Dict[str, Any]
    output_schema: Optional[Dict[str, Any]]
    title: Optional[str] = None
    read_only: Optional[bool] = None
    destructive: Optional[bool] = None
    idempotent: Optional[bool] = None
    open_world: Optional[bool] = None
    _bind: Callable[[Dict[str, Any]], Dict[str, Any]] = dataclasses.field(default=lambda a: a,
                                                                          repr=False)

    def run(self, arguments: Dict[str, Any]) -> CallResult:
        try:
            kwargs = self._bind(arguments)
        except schemas.ArgumentError as error:
            return CallResult([f"invalid arguments: {error}"], is_error=True)
        try:
            output = self.function(**kwargs)
        except ToolError as error:
            return CallResult([str(error)], is_error=True)
        except MemoryError:
            # The interpreter ran out of memory: nothing it does next can be
            # trusted, so the call ends (as `memory_limit` in a component).
            raise
        except RecursionError:
            return CallResult(["RecursionError: maximum recursion depth exceeded"], is_error=True)
        except Exception as error:  # the tool's own failure, reported to its caller
            last = traceback.extract_tb(error.__traceback__)[-1:]
            where = f" (at {last[0].name}, line {last[0].lineno})" if last else ""
            return CallResult([f"{type(error).__name__}: {error}{where}"], is_error=True)
        return self._result(output)

    def _result(self, output: Any) -> CallResult:
        if isinstance(output, CallResult):
            return output
        if isinstance(output, (Image, Audio)):
            return CallResult([output])
        if isinstance(output, str):
            return CallResult([output])
        value = schemas.to_json_value(output)
        try:
            text = _dumps(value)
        except (TypeError, ValueError) as error:
            return CallResult([f"the tool's output is not JSON: {error}"], is_error=True)
        if isinstance(value, dict):
            return CallResult([text], structured_content=value)
        return CallResult([text])


class Toolbox:
    """The tools of one component.

    >>> toolbox = Toolbox()
    >>> @toolbox.tool("demo.add", read_only=True)
    ... def add(a: int, b: int) -> int:
    ...     '''Adds two integers.'''
    ...     return a + b
    >>> toolbox.call("demo.add", {"a": 1, "b": 2}).text
    '3'
    """

    def __init__(self) -> None:
        self.tools: Dict[str, Tool] = {}

    def tool(self, name: str, *, title: Optional[str] = None,
             description: Optional[str] = None, read_only: Optional[bool] = None,
             destructive: Optional[bool] = None, idempotent: Optional[bool] = None,
             open_world: Optional[bool] = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Registers the decorated function as tool `name`.

        Its arguments are either one dataclass or `TypedDict` parameter (the
        arguments object) or several parameters (one property each, described
        by the docstring's ``Args:`` section). The docstring's opening text is
        the description unless `description` is given. A dataclass or
        `TypedDict` return type becomes the output schema and the result the
        structured content; a `str` is text.
        """
        if not _NAME.fullmatch(name):
            raise ValueError(f"tool name {name!r} must match [A-Za-z0-9_.-]{{1,128}}")
        if name in self.tools:
            raise ValueError(f"tool {name!r} is defined twice")

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            input_schema, bind = _arguments_of(function)
            hints = typing.get_type_hints(function, include_extras=True)
            returned = hints.get("return")
            output_schema = (schemas.schema_of(returned)
                             if returned is not None and schemas.is_object_type(returned)
                             else None)
            text = description or schemas.summary(function.__doc__)
            if not text:
                raise ValueError(f"tool {name!r} needs a description: give it a docstring")
            self.tools[name] = Tool(name, text, function, input_schema, output_schema, title,
                                    read_only, destructive, idempotent, open_world, bind)
            return function

        return register

    def call(self, name: str, arguments: Union[str, Dict[str, Any]]) -> CallResult:
        """Runs tool `name` with `arguments` (a JSON object, as text or a
        dict), as Warden does for `tools/call`."""
        tool = self.tools.get(name)
        if tool is None:
            return CallResult([f"unknown tool {name!r}"], is_error=True)
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError as error:
                return CallResult([f"invalid arguments: not JSON ({error})"], is_error=True)
        if not isinstance(arguments, dict):
            return CallResult(["invalid arguments: must be a JSON object"], is_error=True)
        return tool.run(arguments)

    def component(self, warm_up: Sequence[Tuple[str, Dict[str, Any]]] = ()) -> type:
        """The class componentize-py exports as the `tool` interface: assign
        it to `Tool` in the component's app module.

        `warm_up` lists representative calls, `(name, arguments)`, made once
        while the component is built; a failing one fails the build. The
        build snapshots the interpreter after the app module ran, so what
        they computed and cached (compiled patterns, lazily built tables) is
        in the snapshot and no call pays for it again.
        """
        from .component import exported_tool

        return exported_tool(self, warm_up)


def _arguments_of(function: Callable[..., Any]):
    """The input schema of `function`, and how to turn validated arguments
    into its keyword arguments."""
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function, include_extras=True)
    parameters = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(parameters) != len(signature.parameters):
        raise TypeError(f"{function.__name__}: *args and **kwargs cannot be tool arguments")
    for parameter in parameters:
        if parameter.name not in hints:
            raise TypeError(f"{function.__name__}: parameter {parameter.name!r} needs a type hint")
    if len(parameters) == 1 and schemas.is_object_type(hints[parameters[0].name]):
        only = parameters[0].name
        hint = hints[only]
        return schemas.schema_of(hint), lambda arguments: {only: schemas.convert(hint, arguments)}

    descriptions = schemas.field_descriptions(function.__doc__, "Args")
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for parameter in parameters:
        property_schema = schemas.schema_of(hints[parameter.name])
        if parameter.name in descriptions and "description" not in property_schema:
            property_schema["description"] = descriptions[parameter.name]
        if parameter.default is not inspect.Parameter.empty:
            default = schemas.to_json_value(parameter.default)
            if default is None or isinstance(default, (str, int, float, bool, list, dict)):
                property_schema["default"] = default
        else:
            required.append(parameter.name)
        properties[parameter.name] = property_schema
    input_schema: Dict[str, Any] = {"type": "object", "properties": properties,
                                    "additionalProperties": False}
    if required:
        input_schema["required"] = required

    def bind(arguments: Dict[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            raise schemas.ArgumentError(unknown[0], "is not a known argument")
        kwargs = {}
        for parameter in parameters:
            if parameter.name in arguments:
                kwargs[parameter.name] = schemas.convert(hints[parameter.name],
                                                         arguments[parameter.name],
                                                         parameter.name)
            elif parameter.default is inspect.Parameter.empty:
                raise schemas.ArgumentError(parameter.name, "is required")
        return kwargs

    return input_schema, bind

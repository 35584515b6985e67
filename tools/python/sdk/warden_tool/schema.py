"""JSON Schemas from Python type hints, and arguments back into those types.

The same hints serve both ways: `schema_of` describes a type for Warden
(which validates every call against it before the tool runs) and
`convert` turns the validated JSON back into the annotated Python values
(dataclasses, enums, lists), checking again so that a tool called
directly, as in unit tests, gets the same guarantees.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Field", "SchemaError", "ArgumentError", "schema_of", "convert", "to_json_value",
           "field_descriptions", "summary", "is_object_type", "object_fields"]


class SchemaError(TypeError):
    """A type hint has no JSON Schema: raised when a tool is defined."""


class ArgumentError(ValueError):
    """Arguments do not match a tool's input type; `path` says where."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or 'arguments'}: {reason}")
        self.path = path
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Field:
    """Constraints and a description for one value, used inside `Annotated`:

    ``Annotated[float, Field(ge=0, le=1, description="A share")]``
    """

    description: Optional[str] = None
    ge: Optional[float] = None
    le: Optional[float] = None
    gt: Optional[float] = None
    lt: Optional[float] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None

    def keywords(self, schema: Dict[str, Any]) -> Dict[str, Any]:
        """The JSON Schema keywords these constraints add to `schema`."""
        out: Dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        for name, keyword in (("ge", "minimum"), ("le", "maximum"),
                              ("gt", "exclusiveMinimum"), ("lt", "exclusiveMaximum")):
            value = getattr(self, name)
            if value is not None:
                out[keyword] = value
        is_array = schema.get("type") == "array"
        if self.min_length is not None:
            out["minItems" if is_array else "minLength"] = self.min_length
        if self.max_length is not None:
            out["maxItems" if is_array else "maxLength"] = self.max_length
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out


_NONE_TYPE = type(None)
_UNION_TYPES = (typing.Union, getattr(types, "UnionType", typing.Union))


def _is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__total__")


def is_object_type(hint: Any) -> bool:
    """Whether `hint` is a dataclass or a `TypedDict`: a JSON object type."""
    hint = _strip_annotated(hint)[0]
    return (isinstance(hint, type) and dataclasses.is_dataclass(hint)) or _is_typed_dict(hint)


def _strip_annotated(hint: Any) -> Tuple[Any, List[Field]]:
    fields: List[Field] = []
    while typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        fields.extend(extra for extra in extras if isinstance(extra, Field))
        hint = base
    return hint, fields


def _optional_inner(hint: Any) -> Tuple[Any, bool]:
    """`(T, True)` for `Optional[T]` (`T | None`), else `(hint, False)`."""
    if typing.get_origin(hint) in _UNION_TYPES:
        members = [member for member in typing.get_args(hint) if member is not _NONE_TYPE]
        if len(members) < len(typing.get_args(hint)):
            inner = members[0] if len(members) == 1 else typing.Union[tuple(members)]
            return inner, True
    return hint, False


# `_unwrap`'s answers, by hint: conversion asks once per value, and a
# component's calls start from the snapshot in which defining the tools
# (`schema_of`) already asked for every hint they use.
_UNWRAPPED: Dict[Any, Tuple[Any, List[Field], bool]] = {}


def _unwrap(hint: Any) -> Tuple[Any, List[Field], bool]:
    """`hint` without `Annotated` and `Optional` layers, in any order: the
    bare type, the `Field`s found, and whether `None` is allowed."""
    try:
        return _UNWRAPPED[hint]
    except KeyError:
        found = _UNWRAPPED[hint] = _find_unwrapped(hint)
        return found
    except TypeError:  # an unhashable hint
        return _find_unwrapped(hint)


def _find_unwrapped(hint: Any) -> Tuple[Any, List[Field], bool]:
    fields: List[Field] = []
    optional = False
    while True:
        hint, found = _strip_annotated(hint)
        fields.extend(found)
        hint, is_optional = _optional_inner(hint)
        if not is_optional:
            return hint, fields, optional
        optional = True


def field_descriptions(docstring: Optional[str], section: str) -> Dict[str, str]:
    """Descriptions of names from a Google-style docstring section
    (``Args:`` or ``Attributes:``): ``name: text``, continued on deeper
    indented lines."""
    if not docstring:
        return {}
    lines = docstring.expandtabs().splitlines()
    out: Dict[str, str] = {}
    inside, indent, current = False, None, None
    for line in lines:
        stripped = line.strip()
        if not inside:
            inside = stripped == f"{section}:"
            continue
        if not stripped:
            current = None
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break
        match = re.match(r"(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)", stripped)
        if depth == indent and match:
            current = match.group(1)
            out[current] = match.group(2)
        elif current is not None:
            out[current] = f"{out[current]} {stripped}".strip()
    return out


def summary(docstring: Optional[str]) -> str:
    """A docstring's text before its first section (``Args:``, ``Returns:``…),
    with lines joined."""
    if not docstring:
        return ""
    kept: List[str] = []
    for line in docstring.strip().splitlines():
        if re.fullmatch(r"\s*[A-Z][A-Za-z ]*:\s*", line):
            break
        kept.append(line.strip())
    paragraphs = " ".join(kept).split("  ")
    return " ".join(part.strip() for part in paragraphs if part.strip())


def schema_of(hint: Any) -> Dict[str, Any]:
    """The JSON Schema of values of type `hint`."""
    return _schema(hint, set())


def _schema(hint: Any, seen: set) -> Dict[str, Any]:
    inner, fields, optional = _unwrap(hint)
    schema = _bare_schema(inner, seen)
    for field in fields:
        schema.update(field.keywords(schema))
    if optional:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _bare_schema(hint: Any, seen: set) -> Dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [member.value for member in hint]
        kinds = {type(value) for value in values}
        if kinds <= {str}:
            return {"type": "string", "enum": values}
        if kinds <= {int}:
            return {"type": "integer", "enum": values}
        raise SchemaError(f"enum {hint.__name__}: values must all be strings or all integers")
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        args = typing.get_args(hint)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            args = args[:1]
        elif origin is tuple and args:
            return {
                "type": "array",
                "prefixItems": [_schema(arg, seen) for arg in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        schema: Dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = _schema(args[0], seen)
        if origin in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        if args and args[0] is not str:
            raise SchemaError("dict keys must be str: JSON object keys are strings")
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = _schema(args[1], seen)
        return schema
    if origin in _UNION_TYPES:
        return {"anyOf": [_schema(arg, seen) for arg in typing.get_args(hint)]}
    if is_object_type(hint):
        if hint in seen:
            raise SchemaError(f"{hint.__name__} refers to itself: recursive types have no schema here")
        return _object_schema(hint, seen | {hint})
    raise SchemaError(f"no JSON Schema for type {hint!r}")


# Fields of each object type, found once: `typing.get_type_hints` evaluates
# string annotations every time it runs, and in a component every call
# starts from the build-time snapshot, where `schema_of` filled this in.
_FIELDS: Dict[Any, List[Tuple[str, Any, bool]]] = {}


def object_fields(hint: Any) -> List[Tuple[str, Any, bool]]:
    """`(name, type hint, required)` of each field of a dataclass or TypedDict."""
    found = _FIELDS.get(hint)
    if found is None:
        found = _FIELDS[hint] = _find_fields(hint)
    return found


def _find_fields(hint: Any) -> List[Tuple[str, Any, bool]]:
    hints = typing.get_type_hints(hint, include_extras=True)
    if dataclasses.is_dataclass(hint):
        out = []
        for field in dataclasses.fields(hint):
            if not field.init:
                continue
            required = (field.default is dataclasses.MISSING
                        and field.default_factory is dataclasses.MISSING)
            out.append((field.name, hints[field.name], required))
        return out
    required_keys = getattr(hint, "__required_keys__", frozenset(hints))
    return [(name, value, name in required_keys) for name, value in hints.items()]


def _object_schema(hint: Any, seen: set) -> Dict[str, Any]:
    descriptions = field_descriptions(hint.__doc__, "Attributes")
    metadata: Dict[str, str] = {}
    defaults: Dict[str, Any] = {}
    if dataclasses.is_dataclass(hint):
        for field in dataclasses.fields(hint):
            if "description" in field.metadata:
                metadata[field.name] = field.metadata["description"]
            if field.default is not dataclasses.MISSING:
                default = to_json_value(field.default)
                if default is None or isinstance(default, (str, int, float, bool)):
                    defaults[field.name] = default
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for name, value, is_required in object_fields(hint):
        schema = _schema(value, seen)
        description = metadata.get(name) or descriptions.get(name)
        if description and "description" not in schema:
            schema["description"] = description
        if name in defaults:
            schema["default"] = defaults[name]
        properties[name] = schema
        if is_required and not _unwrap(value)[2]:
            required.append(name)
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def convert(hint: Any, value: Any, path: str = "") -> Any:
    """`value`, parsed JSON, as a value of type `hint`; `ArgumentError` when
    it does not fit (the type, a bound, a pattern, a missing field)."""
    inner, fields, optional = _unwrap(hint)
    if value is None:
        if optional or inner is Any:
            return None
        raise ArgumentError(path, "must not be null")
    converted = _convert_bare(inner, value, path)
    for field in fields:
        _check_bounds(field, converted, path)
    return converted


def _check_bounds(field: Field, value: Any, path: str) -> None:
    checks = (("ge", lambda v, b: v >= b, "at least"), ("le", lambda v, b: v <= b, "at most"),
              ("gt", lambda v, b: v > b, "greater than"), ("lt", lambda v, b: v < b, "less than"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for name, holds, words in checks:
            bound = getattr(field, name)
            if bound is not None and not holds(value, bound):
                raise ArgumentError(path, f"must be {words} {bound}")
    if isinstance(value, (str, list, tuple, set, frozenset)):
        if field.min_length is not None and len(value) < field.min_length:
            raise ArgumentError(path, f"must have at least {field.min_length} items or characters")
        if field.max_length is not None and len(value) > field.max_length:
            raise ArgumentError(path, f"must have at most {field.max_length} items or characters")
    if field.pattern is not None and isinstance(value, str) and not re.search(field.pattern, value):
        raise ArgumentError(path, f"must match the pattern {field.pattern}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _convert_bare(hint: Any, value: Any, path: str) -> Any:
    if hint is float and type(value) is float:  # the common case first
        if not math.isfinite(value):
            raise ArgumentError(path, "must be a finite number")
        return value
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ArgumentError(path, f"must be a boolean, not {_kind(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ArgumentError(path, f"must be an integer, not {_kind(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise ArgumentError(path, "must be a finite number")
            return number
        raise ArgumentError(path, f"must be a number, not {_kind(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ArgumentError(path, f"must be a string, not {_kind(value)}")
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in hint)
            raise ArgumentError(path, f"must be one of {allowed}") from None
    if origin is typing.Literal:
        if value in typing.get_args(hint):
            return value
        raise ArgumentError(path, f"must be one of {', '.join(map(repr, typing.get_args(hint)))}")
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        if not isinstance(value, list):
            raise ArgumentError(path, f"must be an array, not {_kind(value)}")
        args = typing.get_args(hint)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ArgumentError(path, f"must have exactly {len(args)} items")
            return tuple(convert(arg, item, f"{path}[{index}]")
                         for index, (arg, item) in enumerate(zip(args, value)))
        item_hint = args[0] if args else Any
        items = [convert(item_hint, item, f"{path}[{index}]") for index, item in enumerate(value)]
        if origin is tuple:
            return tuple(items)
        if origin in (set, frozenset):
            return origin(items)
        return items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ArgumentError(path, f"must be an object, not {_kind(value)}")
        args = typing.get_args(hint)
        item_hint = args[1] if len(args) == 2 else Any
        return {key: convert(item_hint, item, _join(path, key)) for key, item in value.items()}
    if origin in _UNION_TYPES:
        for arg in typing.get_args(hint):
            try:
                return convert(arg, value, path)
            except ArgumentError:
                continue
        raise ArgumentError(path, "matches none of the allowed types")
    if is_object_type(hint):
        return _convert_object(hint, value, path)
    raise ArgumentError(path, f"has a type the SDK cannot convert: {hint!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert_object(hint: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ArgumentError(path, f"must be an object, not {_kind(value)}")
    fields = object_fields(hint)
    known = {name for name, _, _ in fields}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ArgumentError(_join(path, unknown[0]), "is not a known field")
    kwargs = {}
    for name, field_hint, required in fields:
        if name in value:
            kwargs[name] = convert(field_hint, value[name], _join(path, name))
        elif required and not _unwrap(field_hint)[2]:
            raise ArgumentError(_join(path, name), "is required")
        elif required:
            kwargs[name] = None
    return hint(**kwargs)


def to_json_value(value: Any) -> Any:
    """`value` as plain JSON data: dataclasses and TypedDicts as objects,
    enums as their values, tuples and sets as arrays."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json_value(getattr(value, field.name))
                for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(item) for item in value]
    return value

"""Schemas derived from type hints, and arguments converted back."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Dict, List, Literal, Optional, TypedDict

import pytest

from warden_tool import ArgumentError, Field, SchemaError
from warden_tool.schema import convert, schema_of, summary


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    """A point.

    Attributes:
        x: Across.
        y: Down, continued
            on a second line.
    """

    x: float
    y: float = 0.0


class Options(TypedDict, total=False):
    colour: Colour
    labels: List[str]


def test_primitives_and_containers():
    assert schema_of(int) == {"type": "integer"}
    assert schema_of(float) == {"type": "number"}
    assert schema_of(bool) == {"type": "boolean"}
    assert schema_of(List[str]) == {"type": "array", "items": {"type": "string"}}
    assert schema_of(Dict[str, int]) == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert schema_of(Literal["a", "b"]) == {"enum": ["a", "b"]}
    assert schema_of(Colour) == {"type": "string", "enum": ["red", "blue"]}


def test_optional_and_bounds():
    assert schema_of(Optional[int]) == {"type": ["integer", "null"]}
    bounded = Annotated[float, Field(ge=0, lt=1, description="A share")]
    assert schema_of(bounded) == {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                                  "description": "A share"}
    assert schema_of(Annotated[List[int], Field(min_length=1, max_length=3)]) == {
        "type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}
    assert schema_of(Optional[Annotated[int, Field(le=5)]]) == {"type": ["integer", "null"],
                                                                "maximum": 5}


def test_dataclass_and_typed_dict():
    assert schema_of(Point) == {
        "type": "object",
        "properties": {
            "x": {"type": "number", "description": "Across."},
            "y": {"type": "number", "description": "Down, continued on a second line.",
                  "default": 0.0},
        },
        "required": ["x"],
        "additionalProperties": False,
    }
    options = schema_of(Options)
    assert options["properties"]["colour"] == {"type": "string", "enum": ["red", "blue"]}
    assert "required" not in options


def test_unsupported_types_fail_at_definition():
    with pytest.raises(SchemaError):
        schema_of(complex)
    with pytest.raises(SchemaError):
        schema_of(Dict[int, str])


def test_conversion_builds_the_annotated_values():
    assert convert(Point, {"x": 1}) == Point(1.0, 0.0)
    assert convert(List[Colour], ["red"]) == [Colour.RED]
    assert convert(Options, {"labels": ["a"]}) == {"labels": ["a"]}
    assert convert(Optional[int], None) is None


@pytest.mark.parametrize("hint, value, message", [
    (Point, {"y": 1}, "x: is required"),
    (Point, {"x": "1"}, "x: must be a number, not a string"),
    (Point, {"x": 1, "z": 2}, "z: is not a known field"),
    (List[int], [1, True], "[1]: must be an integer, not a boolean"),
    (Colour, "green", "must be one of 'red', 'blue'"),
    (Annotated[int, Field(ge=2)], 1, "must be at least 2"),
    (Annotated[str, Field(pattern="^a")], "b", "must match the pattern ^a"),
    (float, float("inf"), "must be a finite number"),
])
def test_conversion_names_the_field_and_reason(hint, value, message):
    with pytest.raises(ArgumentError) as raised:
        convert(hint, value)
    assert message in str(raised.value)


def test_summary_stops_at_the_first_section():
    doc = """Counts things.

    In detail.

    Args:
        x: ignored here.
    """
    assert summary(doc) == "Counts things. In detail."

"""The tools of `stats`, a Warden tool component in Python, for describing
numbers.

Tools: `stats.describe` (count, mean, median, standard deviation and
quantiles of a list of numbers) and `stats.compare` (several named series
described side by side, as a text table drawn by the `tabulate` package).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Annotated, Dict, List, Optional

from tabulate import tabulate

from warden_tool import Field, ToolError, Toolbox, log, progress

toolbox = Toolbox()

Numbers = Annotated[List[float], Field(min_length=1, max_length=1_000_000,
                                       description="The numbers to describe.")]


@dataclass
class DescribeArgs:
    """Attributes:
        values: The numbers to describe; at least one.
        quantiles: Into how many equal parts to cut the distribution:
            4 gives the quartiles, 10 the deciles, 100 the percentiles.
    """

    values: Numbers
    quantiles: Annotated[int, Field(ge=2, le=100)] = 4


@dataclass
class Description:
    """Attributes:
        count: How many values there are.
        mean: Their arithmetic mean.
        median: The middle value (the mean of the two middle ones for an
            even count).
        stdev: The sample standard deviation; null for a single value.
        min: The smallest value.
        max: The largest value.
        quantiles: The cut points between the equal parts, in order
            (`statistics.quantiles` with the inclusive method: the
            values are taken as the whole population, so every cut lies
            between the minimum and the maximum).
    """

    count: int
    mean: float
    median: float
    stdev: Optional[float]
    min: float
    max: float
    quantiles: List[float] = field(default_factory=list)


def describe_values(values: List[float], parts: int = 4) -> Description:
    """The description of `values`, from one sorted copy. Sums are
    `math.fsum`'s (correctly rounded), not the exact fractions of
    `statistics.stdev`, which cost about ten times the instructions in a
    component for the same double-precision result."""
    if not values:
        raise ToolError("values is empty: there is nothing to describe")
    ordered = sorted(values)
    count = len(ordered)
    try:
        mean = math.fsum(ordered) / count
        stdev = (math.sqrt(math.fsum((value - mean) ** 2 for value in ordered) / (count - 1))
                 if count > 1 else None)
    except OverflowError:
        raise ToolError("the values are too large: their sum overflows a double") from None
    if not math.isfinite(mean) or (stdev is not None and not math.isfinite(stdev)):
        raise ToolError("the values are too large: their mean or spread overflows a double")
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Description(
        count=count,
        mean=mean,
        median=median,
        stdev=stdev,
        min=ordered[0],
        max=ordered[-1],
        quantiles=inclusive_quantiles(ordered, parts),
    )


def inclusive_quantiles(ordered: List[float], parts: int) -> List[float]:
    """The `parts - 1` cut points of sorted `ordered`, interpolated as
    `statistics.quantiles(method="inclusive")` does."""
    if len(ordered) == 1:
        return [ordered[0]] * (parts - 1)
    last = len(ordered) - 1
    cuts = []
    for part in range(1, parts):
        index, delta = divmod(part * last, parts)
        cuts.append((ordered[index] * (parts - delta) + ordered[index + 1] * delta) / parts)
    return cuts


@toolbox.tool("stats.describe", title="Describe numbers", read_only=True, idempotent=True,
              open_world=False)
def describe(args: DescribeArgs) -> Description:
    """Describes a list of numbers: count, mean, median, sample standard
    deviation, minimum, maximum and quantiles (quartiles by default)."""
    return describe_values(args.values, args.quantiles)


class TableFormat(enum.Enum):
    GITHUB = "github"
    PLAIN = "plain"
    GRID = "grid"
    SIMPLE = "simple"


@dataclass
class CompareArgs:
    """Attributes:
        series: The series to compare, by name; each a non-empty list of
            numbers.
        format: How to draw the table: GitHub Markdown, plain columns,
            a grid of lines, or simple rules.
    """

    series: Annotated[Dict[str, Numbers], Field(description="The series, by name.")]
    format: TableFormat = TableFormat.GITHUB


@dataclass
class Comparison:
    """Attributes:
        table: The descriptions side by side, one row per series.
        series: Each series' description, by name.
    """

    table: str
    series: Dict[str, Description]


@toolbox.tool("stats.compare", title="Compare series", read_only=True, idempotent=True,
              open_world=False)
def compare(args: CompareArgs) -> Comparison:
    """Describes several named series of numbers and draws the results side
    by side as a text table (GitHub Markdown by default)."""
    if not args.series:
        raise ToolError("series is empty: name at least one series")
    described: Dict[str, Description] = {}
    for index, (name, values) in enumerate(sorted(args.series.items())):
        if not values:
            raise ToolError(f"series {name!r} is empty")
        described[name] = describe_values(values)
        progress(index + 1, len(args.series), f"described {name}")
    log("info", f"compared {len(described)} series")
    rows = [[name, d.count, d.mean, d.median, d.stdev, d.min, d.max]
            for name, d in described.items()]
    headers = ["series", "count", "mean", "median", "stdev", "min", "max"]
    table = tabulate(rows, headers=headers, tablefmt=args.format.value, floatfmt=".6g",
                     missingval="-")
    return Comparison(table=table, series=described)

"""The stats tools, called outside a component."""

from __future__ import annotations

import pytest

from stats_tools import toolbox
from warden_tool.testing import recording


def test_describe():
    result = toolbox.call("stats.describe", {"values": [1, 2, 3, 4, 10]})
    assert not result.is_error
    assert result.structured_content == {
        "count": 5, "mean": 4.0, "median": 3.0, "stdev": pytest.approx(3.5355339),
        "min": 1.0, "max": 10.0, "quantiles": [2.0, 3.0, 4.0],
    }


def test_describe_one_value_and_deciles():
    one = toolbox.call("stats.describe", {"values": [7]}).structured_content
    assert one["stdev"] is None and one["quantiles"] == [7.0, 7.0, 7.0]
    deciles = toolbox.call("stats.describe", {"values": list(range(11)), "quantiles": 10})
    assert deciles.structured_content["quantiles"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def test_describe_refuses_nothing_and_overflow():
    empty = toolbox.call("stats.describe", {"values": []})
    assert empty.is_error and "must have at least 1" in empty.text
    huge = toolbox.call("stats.describe", {"values": [1.7e308, 1.7e308]})
    assert huge.is_error and huge.text == "the values are too large: their sum overflows a double"


@pytest.mark.parametrize("values", [[1.5, -2, 7, 7, 0.25], list(range(100)), [1e-9, 3e9, -4.5, 2]])
@pytest.mark.parametrize("parts", [2, 4, 10])
def test_describe_agrees_with_the_statistics_module(values, parts):
    import statistics

    described = toolbox.call("stats.describe", {"values": values, "quantiles": parts}).structured_content
    assert described["mean"] == statistics.fmean(values)
    assert described["median"] == statistics.median(values)
    assert described["stdev"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert described["quantiles"] == pytest.approx(
        statistics.quantiles(values, n=parts, method="inclusive"), rel=1e-12)


def test_compare_draws_a_table():
    with recording() as host:
        result = toolbox.call("stats.compare", {"series": {"b": [5, 6], "a": [1, 2, 3]},
                                                "format": "plain"})
    assert not result.is_error
    table = result.structured_content["table"].splitlines()
    assert table[0].split() == ["series", "count", "mean", "median", "stdev", "min", "max"]
    assert table[1].split()[:3] == ["a", "3", "2"]
    assert result.structured_content["series"]["b"]["mean"] == 5.5
    assert [done for done, _, _ in host.progress] == [1.0, 2.0]


def test_compare_refuses_an_empty_series():
    result = toolbox.call("stats.compare", {"series": {"a": []}})
    assert result.is_error

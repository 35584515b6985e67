"""The `stats` component's entry point for componentize-py: exports the
tools of `stats_tools` as the `warden:tool/tool` interface."""

from stats_tools import toolbox

Tool = toolbox.component(warm_up=[
    ("stats.describe", {"values": [3, 1, 4, 1, 5, 9, 2, 6], "quantiles": 4}),
    ("stats.describe", {"values": [2.5]}),
    ("stats.compare", {"series": {"a": [1, 2, 3], "b": [4.5, 6]}, "format": "github"}),
])

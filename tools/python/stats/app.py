"""The `stats` component's entry point for componentize-py: exports the
tools of `stats_tools` as the `warden:tool/tool` interface."""

from stats_tools import toolbox

Tool = toolbox.component()

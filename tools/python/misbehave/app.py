"""Entry point for componentize-py: the `pymisbehave` tools."""

from misbehave_tools import toolbox

Tool = toolbox.component()

"""Warden tools in Python: typed functions become MCP tools.

    from warden_tool import Toolbox, ToolError, log

    toolbox = Toolbox()

    @toolbox.tool("greet.hello", read_only=True)
    def hello(name: str) -> str:
        '''Says hello.

        Args:
            name: Who to greet.
        '''
        if not name:
            raise ToolError("name must not be empty")
        log("info", f"greeting {name}")
        return f"Hello, {name}!"

    Tool = toolbox.component()   # in the component's app module only

Build the module into a component with `tools/build-polyglot`; test it
without one: `toolbox.call("greet.hello", {"name": "Ada"})`.
"""

from .host import (ClientError, ClientRequest, LogLevel, ask_client, elicit, list_roots, log,
                   progress, sample)
from .schema import ArgumentError, Field, SchemaError
from .toolbox import Audio, CallResult, Image, Tool, ToolError, Toolbox

__all__ = [
    "Toolbox", "Tool", "ToolError", "CallResult", "Image", "Audio", "Field", "SchemaError",
    "ArgumentError", "LogLevel", "ClientRequest", "ClientError", "log", "progress", "ask_client",
    "sample", "elicit", "list_roots",
]

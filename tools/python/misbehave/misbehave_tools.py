"""`pymisbehave`: a Python component that breaks its limits on purpose, for
the tests that prove the sandbox holds against an interpreter in wasm."""

from __future__ import annotations

from warden_tool import Toolbox, log

toolbox = Toolbox()


@toolbox.tool("pymisbehave.spin")
def spin() -> str:
    """Loops forever: ends at the call's timeout or when its fuel runs out."""
    count = 0
    while True:
        count += 1


@toolbox.tool("pymisbehave.hog")
def hog(chunk_bytes: int = 1 << 20) -> str:
    """Allocates memory until the call's memory limit refuses more.

    Args:
        chunk_bytes: Bytes allocated at a time.
    """
    kept = []
    while True:
        kept.append(bytearray(chunk_bytes))


@toolbox.tool("pymisbehave.fail")
def fail(message: str) -> str:
    """Raises a ValueError with `message`.

    Args:
        message: The exception's message.
    """
    raise ValueError(message)


@toolbox.tool("pymisbehave.read")
def read(path: str) -> str:
    """Returns the text of the file at `path`, wherever it is.

    Args:
        path: The file to read.
    """
    with open(path, encoding="utf-8") as file:
        return file.read()


@toolbox.tool("pymisbehave.flood")
def flood(count: int) -> str:
    """Sends `count` log messages.

    Args:
        count: How many.
    """
    for index in range(count):
        log("info", f"message {index}")
    return f"sent {count} log messages"

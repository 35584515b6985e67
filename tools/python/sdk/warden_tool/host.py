"""What a running tool can ask of Warden: log, report progress, ask the client.

Inside a component these go to Warden's `host` interface; anywhere else
(unit tests, a REPL) to a `RecordingHost`, so tool code calls the same
functions in both places. `warden_tool.testing.recording()` swaps in a fresh
one for a test.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Dict, List, Optional, Sequence, Union

__all__ = [
    "LogLevel", "ClientRequest", "ClientError", "RecordingHost",
    "log", "progress", "ask_client", "sample", "elicit", "list_roots",
]


class LogLevel(enum.Enum):
    """Syslog severities, as MCP logging uses them."""

    DEBUG = "debug"
    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"
    ALERT = "alert"
    EMERGENCY = "emergency"


@dataclasses.dataclass(frozen=True)
class ClientRequest:
    """One request to the client: `kind` is ``"sample"``, ``"elicit"`` or
    ``"list-roots"``; `params` the request's params object."""

    kind: str
    params: Dict[str, Any]
    key: Optional[str] = None
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class ClientError:
    """Why a request to the client has no answer: `kind` is ``"unsupported"``,
    ``"invalid"``, ``"refused"`` or ``"unavailable"``."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def sample(messages: List[Dict[str, Any]], max_tokens: int, *, key: Optional[str] = None,
           optional: bool = False, **params: Any) -> ClientRequest:
    """A request for a completion from the client's model
    (`sampling/createMessage`); extra keyword arguments are further params,
    e.g. ``systemPrompt``."""
    return ClientRequest("sample", {"messages": messages, "maxTokens": max_tokens, **params},
                         key, optional)


def elicit(message: str, requested_schema: Dict[str, Any], *, key: Optional[str] = None,
           optional: bool = False) -> ClientRequest:
    """A request for input from the user (`elicitation/create`)."""
    return ClientRequest("elicit", {"message": message, "requestedSchema": requested_schema},
                         key, optional)


def list_roots(*, key: Optional[str] = None, optional: bool = False) -> ClientRequest:
    """A request for the client's roots (`roots/list`)."""
    return ClientRequest("list-roots", {}, key, optional)


Answer = Union[Dict[str, Any], ClientError]


class RecordingHost:
    """The host outside a component: keeps what a tool logs and reports, and
    answers its client requests from `answers` (or as ``unsupported``)."""

    def __init__(self, answers: Optional[Sequence[Answer]] = None) -> None:
        self.logs: List[tuple] = []
        self.progress: List[tuple] = []
        self.requests: List[ClientRequest] = []
        self._answers = list(answers or [])

    def log(self, level: LogLevel, message: str) -> None:
        self.logs.append((level, message))

    def report_progress(self, done: float, total: Optional[float], message: Optional[str]) -> None:
        self.progress.append((done, total, message))

    def ask_client(self, requests: Sequence[ClientRequest]) -> List[Answer]:
        self.requests.extend(requests)
        answers: List[Answer] = []
        for _ in requests:
            if self._answers:
                answers.append(self._answers.pop(0))
            else:
                answers.append(ClientError("unsupported", "no client outside a component"))
        return answers


_current: Any = RecordingHost()


def current() -> Any:
    """The host the helpers below talk to."""
    return _current


def install(host: Any) -> Any:
    """Makes `host` the one the helpers talk to; returns the previous one."""
    global _current
    previous, _current = _current, host
    return previous


def log(level: Union[LogLevel, str], message: str) -> None:
    """Sends a log message to the client (MCP `notifications/message`). Past
    the tool's `max_log_messages` the call fails."""
    _current.log(LogLevel(level) if isinstance(level, str) else level, str(message))


def progress(done: float, total: Optional[float] = None, message: Optional[str] = None) -> None:
    """Reports progress to a client that asked for it; `done` should grow."""
    _current.report_progress(float(done), None if total is None else float(total), message)


def ask_client(requests: Sequence[ClientRequest]) -> List[Answer]:
    """Sends `requests` to the client together and waits for every answer:
    one per request, in order, each the client's result (a dict) or a
    `ClientError`."""
    for request in requests:
        json.dumps(request.params)  # fails here, in the tool, on a non-JSON value
    return _current.ask_client(list(requests))

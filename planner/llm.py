"""Chat models for the planning agents: connection, timeouts and retries, accounting, replay.

`connect_model` builds any LangChain chat model ("openai:...", "anthropic:...", "ollama:..." or
an OpenAI-compatible server by base URL) with a request timeout and with the client's own
retries turned off: retries live in one layer only, `Runnable.with_retry` around each request
(exponential backoff with jitter, transient errors only: timeouts, lost connections, HTTP 5xx
and 429, as langchain-core's `ModelError.is_retryable` says). `LLMDrafter` plans a side's COAs
with the tool-using agent (planner.agent) over a `Transport`: `LiveTransport` talks to the model
and can record every request and reply; `planner.replay.ReplayTransport` answers from a
recording. Each decision that is taken live (a retry, whether the time budget is spent) is
recorded too, so a replay takes the same path.

Keys come only from the environment; they are never logged, recorded or written: failure
texts are scrubbed of every key variable's value.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.runnables import RunnableLambda

from planner.coa import COADraft
from planner.context import DraftingContext
from planner.decide import Wargame
from planner.record import AgentRecord

__all__ = [
    "PROVIDERS",
    "CallSite",
    "LLMDrafter",
    "LiveTransport",
    "ModelFailure",
    "Planned",
    "ProviderUnreachable",
    "RunStopped",
    "Transport",
    "connect_model",
    "describe_error",
    "from_record",
    "reply_record",
    "request_record",
]

#: Providers `connect_model` knows how to give a timeout and no client retries.
PROVIDERS = ("openai", "anthropic", "ollama")
#: Attempts per model request (the first and two retries) on transient errors.
RETRY_ATTEMPTS = 3
#: Backoff between attempts (tenacity's wait_exponential_jitter): 0.5 s, 1 s, ... up to 8 s,
#: each plus up to 0.5 s of jitter.
BACKOFF = {"multiplier": 0.5, "max": 8.0, "exp_base": 2.0, "jitter": 0.5}
#: Environment variables that may hold keys; their values never reach a note or a file.
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_API_KEY", "AZURE_OPENAI_API_KEY")
#: Characters of an error message kept in a note.
ERROR_CHARS = 200


class ModelFailure(Exception):
    """A model request failed for good (after its retries); the side falls back."""


class RunStopped(Exception):
    """The run cannot go on (the command line exits 2 with this one-line message)."""


class ProviderUnreachable(RunStopped):
    """The provider could not be reached (or refused the key or model) on the drafter's first
    call: the run ends before the campaign (exit 2)."""


@dataclass(frozen=True)
class CallSite:
    """Where a model request belongs: the side and cycle of the decision, the request's
    number within it (1 = first) and the attempt (1 = first try)."""

    side: str
    cycle: int
    call: int = 0
    attempt: int = 0

    def __str__(self) -> str:
        return f"cycle {self.cycle}, side {self.side}, model call {self.call}"


class Transport(Protocol):
    """How a drafter's requests reach a model (or a recording of one)."""

    #: Backoff between retries (tenacity's wait_exponential_jitter parameters).
    backoff: dict[str, float]

    def send(self, site: CallSite, messages: list[BaseMessage], tools: list[Any]) -> AIMessage:
        """One request; raises the model's or the network's error."""
        ...

    def decide(self, site: CallSite, name: str, live: Callable[[], bool]) -> bool:
        """A decision the run takes from the clock or an error (retry, out of time): live, it
        is `live()` (and recorded); replayed, it is what the recording says."""
        ...


class LiveTransport:
    """Requests to a chat model; with a recorder, every request, reply and decision is
    written as one JSON line (messages and replies only: no key, no header)."""

    backoff = BACKOFF

    def __init__(self, model: Any, recorder: Any | None = None):
        self.model = model
        self.recorder = recorder

    def send(self, site: CallSite, messages: list[BaseMessage], tools: list[Any]) -> AIMessage:
        """Bind the tools and ask the model."""
        try:
            reply = reply_record(self.model.bind_tools(tools).invoke(messages))
        except Exception as err:
            if self.recorder is not None:
                kind, text = describe_error(err)
                error = {"type": kind, "message": text, "unreachable": unreachable(err)}
                self._write(site, messages, tools, {"error": error})
            raise
        if self.recorder is not None:
            self._write(site, messages, tools, {"response": reply})
        return from_record(reply)

    def _write(
        self, site: CallSite, messages: list[BaseMessage], tools: list[Any], outcome: dict
    ) -> None:
        request = {"request": request_record(messages, tools)}
        self.recorder.write(_site_entry("call", site) | request | outcome)

    def decide(self, site: CallSite, name: str, live: Callable[[], bool]) -> bool:
        """Evaluate the decision now; record it."""
        value = bool(live())
        if self.recorder is not None:
            self.recorder.write(_site_entry("decision", site) | {"name": name, "value": value})
        return value


def _site_entry(kind: str, site: CallSite) -> dict[str, Any]:
    return {
        "kind": kind,
        "side": site.side,
        "cycle": site.cycle,
        "call": site.call,
        "attempt": site.attempt,
    }


def request_record(messages: list[BaseMessage], tools: list[Any]) -> dict[str, Any]:
    """A request as the planner made it: each message's role, content and tool calls (no
    ids or provider metadata, which differ from run to run), and the tools' names."""
    names = [getattr(t, "name", None) or t.get("function", {}).get("name") for t in tools]
    return {"messages": [_message_record(m) for m in messages], "tools": names}


def _message_record(message: BaseMessage) -> dict[str, Any]:
    record: dict[str, Any] = {"role": message.type, "content": message.content}
    if isinstance(message, AIMessage):
        record |= reply_record(message)
    if isinstance(message, ToolMessage):
        record |= {"tool_call_id": message.tool_call_id, "name": message.name}
    return record


def reply_record(reply: AIMessage) -> dict[str, Any]:
    """What the planner reads of a reply (content and tool calls), JSON-ready."""
    return {
        "content": reply.content,
        "tool_calls": [
            {"name": c["name"], "args": c["args"], "id": c.get("id")} for c in reply.tool_calls
        ],
        "invalid_tool_calls": [
            {k: c.get(k) for k in ("name", "args", "id", "error")} for c in reply.invalid_tool_calls
        ],
    }


def from_record(record: dict[str, Any]) -> AIMessage:
    """The reply the planner reads, from its record (live replies pass through it too, so a
    live and a replayed run see the very same message)."""
    return AIMessage(
        content=record.get("content", ""),
        tool_calls=record.get("tool_calls", []),
        invalid_tool_calls=record.get("invalid_tool_calls", []),
    )


def describe_error(err: BaseException) -> tuple[str, str]:
    """(type name, one-line message) of an error, scrubbed of keys and shortened."""
    kind = getattr(err, "recorded_type", None) or type(err).__name__
    return kind, _short(scrub(str(err)))


def scrub(text: str) -> str:
    """The text without the value of any key variable of the environment."""
    for name in KEY_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _short(text: str, limit: int = ERROR_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def retryable(err: BaseException) -> bool:
    """A transient error worth another attempt: langchain-core's `is_retryable` (timeouts,
    connection errors, HTTP 5xx and 429 from any provider it maps), the transport errors of
    clients it does not map (Ollama's httpx), or what a recording says."""
    import httpx

    if getattr(err, "is_retryable", False):
        return True
    status = getattr(err, "status_code", None)  # e.g. ollama.ResponseError
    if isinstance(status, int) and (status >= 500 or status == 429):
        return True
    return isinstance(err, httpx.TransportError | ConnectionError | TimeoutError)


def unreachable(err: BaseException) -> bool:
    """The provider cannot be used at all: no connection (not a timeout: a slow server was
    reached), or it refused the key or does not know the model."""
    import httpx
    from langchain_core.exceptions import (
        ModelAuthenticationError,
        ModelConnectionError,
        ModelNotFoundError,
        ModelPermissionDeniedError,
        ModelTimeoutError,
    )

    if hasattr(err, "recorded_unreachable"):
        return bool(err.recorded_unreachable)
    refused = (ModelAuthenticationError, ModelPermissionDeniedError, ModelNotFoundError)
    timeout = isinstance(err, ModelTimeoutError | TimeoutError | httpx.TimeoutException)
    connection = isinstance(err, ModelConnectionError | ConnectionError | httpx.ConnectError)
    return isinstance(err, refused) or (connection and not timeout)


def connect_model(spec: str, *, base_url: str | None = None, timeout_s: float = 120.0) -> Any:
    """A chat model from a spec such as "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5"
    or "ollama:llama3.1", with a request timeout and no client retries.

    An OpenAI-compatible server (vLLM, llama.cpp, LM Studio) is "openai:<model>" with its
    `base_url`; when no OPENAI_API_KEY is set such a server gets a placeholder key, as these
    servers ignore it. Raises whatever `init_chat_model` raises (unknown provider, missing
    package or key).
    """
    from langchain.chat_models import init_chat_model

    provider = spec.split(":", 1)[0]
    kwargs: dict[str, Any] = {}
    if base_url:
        kwargs["base_url"] = base_url
    if provider == "ollama":
        kwargs["client_kwargs"] = {"timeout": timeout_s}
    else:
        kwargs |= {"timeout": timeout_s, "max_retries": 0}
    if provider == "openai" and base_url and not os.environ.get("OPENAI_API_KEY"):
        kwargs["api_key"] = "unused"
    return init_chat_model(spec, **kwargs)


@dataclass
class Session:
    """One decision's model requests: the retry layer, the time budget and the accounting.

    `first` says this is the drafter's first decision: if its very first request cannot reach
    the provider, the run ends (ProviderUnreachable) instead of this decision falling back.
    """

    transport: Transport
    side: str
    cycle: int
    timeout_s: float
    record: AgentRecord
    first: bool = False
    started: float = field(default_factory=time.monotonic)
    calls: int = 0  # model turns asked for

    def out_of_time(self) -> bool:
        """Whether the decision's time budget is spent (checked before each model turn)."""
        site = CallSite(self.side, self.cycle, self.calls + 1)
        return self.transport.decide(site, "out_of_time", self._over)

    def _over(self) -> bool:
        return time.monotonic() - self.started >= self.timeout_s

    def invoke(self, messages: list[BaseMessage], tools: list[Any]) -> AIMessage:
        """One model turn: the request, retried with backoff on transient errors while the
        budget lasts. Raises ModelFailure when it fails for good."""
        self.calls += 1
        attempts = 0

        def attempt(request: list[BaseMessage]) -> AIMessage:
            nonlocal attempts
            attempts += 1
            site = CallSite(self.side, self.cycle, self.calls, attempts)
            self.record.model_calls += 1
            self.record.retries += int(attempts > 1)
            self.record.tokens_in += count_tokens_approximately(request)
            try:
                reply = self.transport.send(site, request, tools)
            except RunStopped:
                raise
            except Exception as err:
                kind, text = describe_error(err)
                self.record.failures.append(f"{kind}: {text}")
                err.call_site = site  # where the retry decision is recorded
                raise
            self.record.tokens_out += count_tokens_approximately([reply])
            return reply

        def again(err: BaseException) -> bool:
            if isinstance(err, RunStopped):
                return False
            site = getattr(err, "call_site", CallSite(self.side, self.cycle, self.calls))
            return self.transport.decide(site, "retry", lambda: retryable(err) and not self._over())

        runnable = RunnableLambda(attempt).with_retry(
            retry_if_exception_type=again,
            wait_exponential_jitter=True,
            exponential_jitter_params=self.transport.backoff,
            stop_after_attempt=RETRY_ATTEMPTS,
        )
        try:
            return runnable.invoke(messages)
        except RunStopped:
            raise
        except Exception as err:
            kind, text = describe_error(err)
            if self.first and self.calls == 1 and unreachable(err):
                raise ProviderUnreachable(f"{kind}: {text}") from None
            raise ModelFailure(f"{kind}: {text}") from err


@dataclass
class Planned:
    """What a drafter's planning gave: drafts (None: it failed, see `failure`) and its record."""

    drafts: list[COADraft] | None
    record: AgentRecord
    failure: str | None = None


class LLMDrafter:
    """Plans a side's COAs with a tool-using agent on any LangChain chat model.

    Args:
        model: a chat model instance, or a spec for `connect_model` such as
            "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5" or "ollama:llama3.1".
        base_url: for OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) or a provider's
            own server address.
        timeout_s: request timeout when the model is built from a spec (the campaign's
            `planning.llm_timeout_s`).
        recorder: writes every request, reply and decision (planner.replay.CallRecorder).
        transport: answers requests instead of a model (planner.replay.ReplayTransport).
        spec, name: the model's spec and the drafter's name in the record (default: from
            the model).
    """

    def __init__(
        self,
        model: Any = None,
        base_url: str | None = None,
        *,
        timeout_s: float = 120.0,
        recorder: Any | None = None,
        transport: Transport | None = None,
        spec: str | None = None,
        name: str | None = None,
    ):
        if isinstance(model, str):
            spec = spec or model
            model = connect_model(model, base_url=base_url, timeout_s=timeout_s)
        self.spec = spec or model.__class__.__name__
        self.name = name or f"llm:{self.spec}"
        self.transport: Transport = transport or LiveTransport(model, recorder)
        self.asked = False  # this drafter has sent a request

    def plan(self, ctx: DraftingContext, game: Wargame | None, *, cycle: int) -> Planned:
        """Run the planning agent on one decision (with `wargame_coa` when a game is given).

        Raises:
            ProviderUnreachable: the drafter's very first request found no provider (or one
                that refused the key or the model); any later failure gives a `Planned`
                without drafts, for the caller to fall back.
        """
        from planner.agent import run_agent

        settings = ctx.scenario.settings.planning
        session = Session(
            self.transport,
            ctx.side,
            cycle,
            timeout_s=settings.llm_timeout_s,
            record=AgentRecord(drafter=self.name, model=self.spec),
            first=not self.asked,
        )
        try:
            return run_agent(session, ctx, game, name=self.name)
        except ProviderUnreachable as err:
            raise ProviderUnreachable(f"cannot reach chat model {self.spec!r}: {err}") from None
        finally:
            self.asked = self.asked or session.calls > 0

"""The planning agent: a LangGraph tool-calling loop that drafts, tests and revises COAs.

    START -> model -> tools -> model -> ... -> validate -> (model again with the errors) -> END

`model` asks the chat model (planner.llm.Session: timeout, retries, accounting) with the tools
of planner.tools and the answer tool `submit_coas`; `tools` runs the tool calls one after
another and returns their results as data; `validate` reads the answer: a reply with no tool
call, tool-call arguments that are not JSON, an answer missing fields, units or places that do
not exist, COAs that fail FASDC screening, or a reply too long to read are sent back to the
model with the errors, at most `MAX_CORRECTIONS` times. The loop ends with COA drafts, or with
a failure (out of turns, out of time, a request that failed for good) that the staff answers
by drafting with the doctrine drafter. Nothing the model writes is executed: its answer is
data for planner.validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from pydantic import ValidationError

from planner.coa import COADraft, COADraftSet
from planner.context import DraftingContext
from planner.decide import Wargame
from planner.llm import ModelFailure, Planned, Session
from planner.prompts import (
    ANSWER_TOOL,
    agent_messages,
    correction,
    data,
    last_turn,
    no_tool_call,
    not_json,
    oversized,
)
from planner.record import AgentToolCall
from planner.screening import screen
from planner.tools import PlanningTools
from planner.validation import finalize_drafts

__all__ = ["MAX_CORRECTIONS", "MAX_REPLY_CHARS", "agent_graph", "run_agent", "unknown_citations"]

#: Replies sent back with their errors before the agent gives up on an answer.
MAX_CORRECTIONS = 2
#: A reply longer than this (content and tool-call arguments) is not read.
MAX_REPLY_CHARS = 100_000
#: Characters of a tool call's arguments and result kept in the record.
SHORT_CHARS = 120
#: Problems listed back to the model at most.
MAX_PROBLEMS = 12


class AgentState(TypedDict, total=False):
    """The conversation and the loop's counters."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: int  # model turns taken
    corrections: int  # replies sent back with errors
    problem: str | None  # why the last reply was not read (too long)
    usable: list[dict[str, Any]] | None  # the drafts of the last answer that passed screening
    answer: list[dict[str, Any]] | None  # the accepted drafts
    failure: str | None


@dataclass
class AgentContext:
    """What the nodes need besides the conversation."""

    session: Session
    drafting: DraftingContext
    tools: PlanningTools
    by_name: dict[str, Any]  # the tools the agent may run
    schemas: list[Any]  # the tools and the answer tool, as bound to the model
    max_steps: int
    name: str


def _answer_schema() -> dict[str, Any]:
    schema = convert_to_openai_tool(COADraftSet)
    schema["function"]["name"] = ANSWER_TOOL
    schema["function"]["description"] = "Submit your courses of action (your answer)."
    return schema


# ---------------------------------------------------------------------------- nodes
def model(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    """One model turn, within the turn and time budget."""
    ctx = runtime.context
    steps = state.get("steps", 0)
    if steps >= ctx.max_steps:
        return {"failure": f"no usable answer within {ctx.max_steps} model turns"}
    if ctx.session.out_of_time():
        return {"failure": f"no usable answer within the {ctx.session.timeout_s:g} s budget"}
    extra = [HumanMessage(last_turn())] if steps == ctx.max_steps - 1 and steps else []
    try:
        reply = ctx.session.invoke([*state["messages"], *extra], ctx.schemas)
    except ModelFailure as failure:
        return {"failure": str(failure), "steps": steps + 1}
    size = len(str(reply.content)) + sum(
        len(json.dumps(c.get("args"), default=str)) for c in reply.tool_calls
    )
    size += sum(len(str(c.get("args") or "")) for c in reply.invalid_tool_calls)
    problem = None
    if size > MAX_REPLY_CHARS:  # kept out of the conversation: the model sees why instead
        problem = oversized(size, MAX_REPLY_CHARS)
        reply = AIMessage(content=f"[a reply of {size} characters, not read]")
    return {"messages": [*extra, reply], "steps": steps + 1, "problem": problem}


def _route_after_model(state: AgentState) -> Literal["tools", "validate", "__end__"]:
    if state.get("failure"):
        return END
    reply = state["messages"][-1]
    calls = getattr(reply, "tool_calls", [])
    if state.get("problem") or reply.invalid_tool_calls or not calls:
        return "validate"
    return "validate" if any(c["name"] == ANSWER_TOOL for c in calls) else "tools"


def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    """Run the reply's tool calls in order; their results go back to the model as data."""
    ctx = runtime.context
    by_name = ctx.by_name
    ctx.tools.step = state.get("steps", 0)
    results = []
    for call in state["messages"][-1].tool_calls:
        tool = by_name.get(call["name"])
        if tool is None:
            result: Any = {"error": f"no tool {call['name']!r}; tools: {', '.join(by_name)}"}
        else:
            try:
                result = tool.invoke(call["args"])
            except Exception as err:  # a tool's error is news for the model, not a crash
                result = {"error": f"{call['name']} failed: {_short(str(err), 600)}"}
        ctx.session.record.tool_calls.append(
            AgentToolCall(
                step=ctx.tools.step,
                name=call["name"],
                arguments=_brief(call["args"]),
                result=_short(json.dumps(result, ensure_ascii=False, default=str)),
            )
        )
        results.append(ToolMessage(data(result), tool_call_id=call["id"], name=call["name"]))
    return {"messages": results}


def validate(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    """Read the answer; accept it, or send its errors back (a bounded number of times)."""
    ctx = runtime.context
    reply = state["messages"][-1]
    calls = list(getattr(reply, "tool_calls", []))
    invalid = list(getattr(reply, "invalid_tool_calls", []))
    usable = state.get("usable")
    problems: list[str] = []
    if state.get("problem"):
        problems = [state["problem"]]
    elif invalid:
        problems = [
            not_json(c.get("name") or "tool", _short(str(c.get("error") or ""), 200))
            for c in invalid
        ]
    elif not any(c["name"] == ANSWER_TOOL for c in calls):
        problems = [no_tool_call()]
    else:
        answer = next(c for c in calls if c["name"] == ANSWER_TOOL)
        drafts, problems = _check(answer["args"], ctx)
        if drafts is not None:
            usable = [d.model_dump(mode="json") for d in drafts]
            if not problems:
                return {"answer": usable}
    corrections = state.get("corrections", 0)
    if corrections >= MAX_CORRECTIONS:
        if usable:  # the COAs of the last answer that passed screening
            return {"answer": usable}
        return {"failure": f"no usable answer after {corrections} correction(s): {problems[0]}"}
    ctx.session.record.corrections += 1
    text = correction(problems[:MAX_PROBLEMS])
    answers = _answers(reply, text)
    return {
        "messages": answers or [HumanMessage(text)],
        "corrections": corrections + 1,
        "usable": usable,
        "problem": None,
    }


def _route_after_validate(state: AgentState) -> Literal["model", "__end__"]:
    return END if state.get("answer") is not None or state.get("failure") else "model"


# --------------------------------------------------------------------------- checks
def _check(args: Any, ctx: AgentContext) -> tuple[list[COADraft] | None, list[str]]:
    """The answer's drafts whose COAs pass validation and screening (None if none does), and
    every problem the staff would find: schema errors, tasks dropped by validation, unknown
    citations, screening failures."""
    try:
        answer = COADraftSet.model_validate(args)
    except ValidationError as err:
        return None, [
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in err.errors()[:MAX_PROBLEMS]
        ]
    drafting = ctx.drafting
    drafts = answer.coas[: drafting.count]
    if not drafts:
        return None, ["the answer holds no COA"]
    coas, problems = finalize_drafts(drafts, drafting, ctx.name)
    problems += unknown_citations(drafts, drafting)
    passing = {coa.id for coa in screen(coas, drafting)}
    for coa in coas:
        if coa.id not in passing:
            problems += [f"{coa.id} ({coa.name}): {n}" for n in coa.screening_notes]
    # finalize_drafts numbers a draft's COA "<side>-<n>" by its place in the answer
    kept = [d for n, d in enumerate(drafts, start=1) if f"{drafting.side}-{n}" in passing]
    return (kept or None), problems


def unknown_citations(drafts: list[COADraft], ctx: DraftingContext) -> list[str]:
    """One line per draft that cites passage ids the doctrine index does not hold."""
    lines = []
    for number, draft in enumerate(drafts, start=1):
        tasks = [*draft.tasks, *(t for phase in draft.phases for t in phase.tasks)]
        unknown = sorted({c for t in tasks for c in t.citations if c not in ctx.index})
        if unknown:
            lines.append(
                f"COA {number} ({draft.name}): citations {', '.join(unknown)} are not in the "
                "doctrine index"
            )
    return lines


def _answers(reply: AnyMessage, text: str) -> list[ToolMessage]:
    """A tool result for every call of the reply (providers want each call answered)."""
    calls = [*getattr(reply, "tool_calls", []), *getattr(reply, "invalid_tool_calls", [])]
    return [
        ToolMessage(text, tool_call_id=c.get("id") or f"call-{i}", name=c.get("name") or "tool")
        for i, c in enumerate(calls)
    ]


def _brief(args: Any) -> str:
    """A tool call's arguments in a line: a COA argument by its name."""
    if isinstance(args, dict):
        args = {
            k: f"COA {v['name']!r}" if isinstance(v, dict) and "name" in v else v
            for k, v in args.items()
        }
    return _short(json.dumps(args, ensure_ascii=False, default=str))


def _short(text: str, limit: int = SHORT_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ---------------------------------------------------------------------------- build
def _build() -> Any:
    builder = StateGraph(AgentState, context_schema=AgentContext)
    builder.add_node("model", model)
    builder.add_node("tools", tools)
    builder.add_node("validate", validate)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", _route_after_model, ["tools", "validate", END])
    builder.add_edge("tools", "model")
    builder.add_conditional_edges("validate", _route_after_validate, ["model", END])
    # One decision's conversation lives and ends inside the staff's coa_development node:
    # never checkpointed, even when the loop is.
    return builder.compile(checkpointer=False)


#: The planning agent, compiled.
agent_graph = _build()


def run_agent(
    session: Session, drafting: DraftingContext, game: Wargame | None, *, name: str
) -> Planned:
    """Plan one decision with the agent; the record in `session` is filled in as it goes."""
    settings = drafting.scenario.settings.planning
    planning_tools = PlanningTools(
        drafting, game, replications=max(2, settings.revision_replications)
    )
    runnable = planning_tools.tools()
    context = AgentContext(
        session=session,
        drafting=drafting,
        tools=planning_tools,
        by_name={tool.name: tool for tool in runnable},
        schemas=[*runnable, _answer_schema()],
        max_steps=settings.llm_max_steps,
        name=name,
    )
    final = agent_graph.invoke(
        {"messages": agent_messages(drafting, steps=settings.llm_max_steps)},
        context=context,
        config={"recursion_limit": 3 * settings.llm_max_steps + 10},
    )
    record = session.record
    record.steps = final.get("steps", 0)
    record.revisions = list(planning_tools.revisions)
    if final.get("answer") is None:
        return Planned(drafts=None, record=record, failure=final.get("failure") or "no answer")
    return Planned(drafts=[COADraft.model_validate(d) for d in final["answer"]], record=record)

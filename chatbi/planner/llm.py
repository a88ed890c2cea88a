"""The LLM planner: any OpenAI-compatible model, one call per question, never unsafe.

The only module that imports an LLM vendor SDK (``langchain_openai``/``langchain_core``).

``LLMPlanner.plan(question, as_of=..., conversation=..., role=...)``:

1. builds a prompt from the retrieved definitions, values and examples only
   (``llm_context``; under 4,000 tokens whatever the size of the semantic layer);
2. makes ONE chat.completions call with four tools (``llm_tools``): ``plan_query``,
   ``write_sql``, ``ask_clarification``, ``refuse``;
3. checks the call (``llm_validate``): names against the catalog, time words through
   ``parse_time``, the compiled or written SQL through ``guard_sql`` for the caller's role.
   A rejected call is answered with the reason (a tool result) and the model tries again, at
   most twice; a guard refusal that persists becomes a refusal, a value the model keeps
   inventing becomes a clarifying question, other persistent problems fall back to the
   offline planner;
4. on any failure of the model (timeout, connection error, HTTP 4xx/5xx, malformed or empty
   output) the offline planner answers and the plan carries the note "LLM 不可用… / LLM
   unavailable (reason), used the offline planner".

The offline planner's rules about the question apply to the model's plans too
(``llm_rules``, read once per question): a question about something the data does not hold
is refused whatever the model planned; the model sees the previous question only when this
one changes it (never a failed, refused or clarified turn); every plan carries an
``interpretation`` built by ``chatbi.planner.interpretation`` from its ``SemanticQuery``,
with what a follow-up kept.

The whole planning is bounded by ``Settings.llm_timeout_s`` (each call gets the time left,
``max_retries=0``, and a watchdog abandons a call that overruns). The returned ``LLMPlan``
has ``planner`` (``llm``/``offline``), ``sql`` (raw-SQL path) and ``llm_stats`` (calls,
prompt characters and tokens, repairs) for ``Answer.timings_ms``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from chatbi.config import Settings
from chatbi.errors import LLMError
from chatbi.planner.context import Conversation
from chatbi.planner.interpretation import interpret
from chatbi.planner.llm_context import ContextBuilder, RetrieverLike, estimate_tokens, untrusted
from chatbi.planner.llm_rules import LLMRules, Reading
from chatbi.planner.llm_tools import TOOLS, Decision, MalformedOutput, decision_from_reply
from chatbi.planner.llm_types import LLMPlan, LLMStats, as_llm_plan
from chatbi.planner.llm_validate import PlanChecker, Problem
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.text import language_of
from chatbi.planner.types import Plan
from chatbi.prompts import render
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.models import SemanticLayer
from chatbi.sql.policy import AccessPolicy, Role

log = logging.getLogger(__name__)

__all__ = ["LLMPlanner", "LLMUnavailable", "MAX_REPAIRS"]

MAX_REPAIRS = 2  # rejected tool calls fed back per question
_GRACE_S = 0.5  # the watchdog waits this long past the HTTP timeout
_MIN_CALL_S = 0.2  # a repair call needs at least this much time left


class LLMUnavailable(LLMError):
    """The model could not be used for this question; ``reason`` is short and user-safe."""

    def __init__(self, reason: str):
        super().__init__(f"LLM 不可用 / LLM unavailable: {reason}", code="llm_unavailable")
        self.reason = reason


def _reason(exc: BaseException, timeout_s: float) -> str:
    """A short, secret-free description of a failed call."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timeout after {timeout_s:g}s"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, ValueError | LookupError | TypeError | AttributeError):
        return "malformed response"  # the body was not a chat completion (bad JSON, no choices…)
    return type(exc).__name__


class LLMPlanner:
    """Plans questions with an OpenAI-compatible model; the offline planner is the fallback."""

    name = "llm"

    def __init__(self, settings: Settings, layer: SemanticLayer, *, retriever: RetrieverLike | None = None,
                 fallback: OfflinePlanner, policy: AccessPolicy | None = None, executor: Any = None,
                 values: Mapping[str, Sequence[str]] | None = None,
                 examples: Sequence[tuple[str, dict[str, Any]]] | None = None):
        """``executor`` (optional) lets DuckDB check model-written SQL before it is accepted;
        ``values`` are dimension values for exact matching (default: the retriever's);
        ``examples`` are (question, semantic_query) pairs used when there is no retriever
        (default: ``chatbi/retrieval/examples.yaml``)."""
        self.settings = settings
        self.layer = layer
        self.catalog = Catalog(layer)
        self.policy = policy or self.catalog.access_policy(settings.max_rows)
        self.fallback = fallback
        self.retriever = retriever
        if values is None:
            values = getattr(retriever, "values", None) or {}
        if examples is None:
            examples = [] if retriever is not None else _default_examples(layer)
        self.tools_json = json.dumps(TOOLS, ensure_ascii=False, separators=(",", ":"))
        self.context = ContextBuilder(self.catalog, self.policy, prompts_dir=settings.prompts_dir,
                                      retriever=retriever, values=values, examples=examples,
                                      tools_json=self.tools_json)
        self.rules = LLMRules(layer, fallback)
        self.checker = PlanChecker(self.catalog, self.policy, executor, values=values, rules=self.rules)
        self._lock = threading.Lock()
        self._chat: Any = None
        self._tool_chat: Any = None

    # ------------------------------------------------------------------ the model
    def warm(self) -> None:
        """Import the SDK and create the client now (takes seconds once; call at start-up)."""
        self._models()

    def _models(self) -> tuple[Any, Any]:
        """(plain chat model, chat model with the tools bound), created once."""
        with self._lock:
            if self._chat is None:
                from langchain_openai import ChatOpenAI
                from pydantic import SecretStr

                chat = ChatOpenAI(
                    model=self.settings.model,
                    api_key=SecretStr(self.settings.openai_api_key or "not-needed"),  # local servers: any key
                    base_url=self.settings.openai_base_url,
                    timeout=self.settings.llm_timeout_s,
                    max_retries=0,
                    temperature=0,
                    use_responses_api=False,
                )
                self._tool_chat = chat.bind_tools(TOOLS)
                self._chat = chat
            return self._chat, self._tool_chat

    def _invoke(self, model: Any, messages: list[Any], deadline: float, stats: LLMStats | None) -> Any:
        """One call, bounded by the deadline; raises ``LLMUnavailable``."""
        remaining = deadline - time.monotonic()
        if remaining < _MIN_CALL_S:
            raise LLMUnavailable(f"timeout after {self.settings.llm_timeout_s:g}s")
        if stats is not None:
            text = _messages_text(messages)
            stats.calls += 1
            stats.prompt_chars += len(text) + len(self.tools_json)
            stats.prompt_tokens = max(stats.prompt_tokens, estimate_tokens(text) + estimate_tokens(self.tools_json))
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["reply"] = model.invoke(messages, timeout=remaining)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller below
                box["error"] = exc

        worker = threading.Thread(target=call, name="chatbi-llm-call", daemon=True)
        worker.start()
        worker.join(remaining + _GRACE_S)
        if worker.is_alive():
            raise LLMUnavailable(f"timeout after {self.settings.llm_timeout_s:g}s")
        if "error" in box:
            raise LLMUnavailable(_reason(box["error"], self.settings.llm_timeout_s)) from box["error"]
        return box["reply"]

    # ------------------------------------------------------------------ planning
    def plan(self, question: str, *, as_of: date, conversation: Conversation | None = None,
             role: Role | None = None) -> Plan:
        """Plan one question; records the turn in ``conversation`` when given."""
        role = role or Role("admin")
        stats = LLMStats()
        if not question.strip():
            return self._offline(question, as_of, conversation, stats, reason=None)
        language = language_of(question)
        reading = self.rules.read(question, as_of=as_of, conversation=conversation)
        # the model sees the turn a follow-up changes (or the clarifying question answered now), nothing else
        view = self.rules.model_view(reading) if self.rules.lexicon is not None else conversation
        try:
            _, model = self._models()  # the first call imports the SDK: not counted in the timeout
            deadline = time.monotonic() + self.settings.llm_timeout_s
            prompt = self.context.build(question, as_of=as_of, role=role, conversation=view,
                                        language=language)
        except Exception as exc:  # noqa: BLE001 - a broken prompt or client never blocks an answer
            log.warning("LLM planner could not start: %s", exc)
            return self._offline(question, as_of, conversation, stats, reason=type(exc).__name__)
        from langchain_core.messages import HumanMessage, SystemMessage

        messages: list[Any] = [SystemMessage(prompt.system), HumanMessage(prompt.user)]
        problem: Problem | None = None
        for attempt in range(MAX_REPAIRS + 1):
            try:
                reply = self._invoke(model, messages, deadline, stats)
                decision = decision_from_reply(list(reply.tool_calls or []), list(reply.invalid_tool_calls or []),
                                               reply.content)
            except LLMUnavailable as exc:
                return self._give_up(question, as_of, conversation, stats, problem, exc.reason, reading)
            except MalformedOutput as exc:
                return self._give_up(question, as_of, conversation, stats, problem, f"malformed output: {exc}",
                                     reading)
            try:
                outcome = self.checker.check(decision, as_of=as_of, role=role, language=language,
                                             selection=prompt.selection, question=question, reading=reading)
            except Exception as exc:  # noqa: BLE001 - an unforeseen check failure: answer offline
                log.exception("checking the LLM's tool call failed")
                return self._give_up(question, as_of, conversation, stats, problem,
                                     f"unusable output ({type(exc).__name__})", reading)
            if isinstance(outcome, Plan):
                return self._done(question, outcome, conversation, stats, reading)
            problem = outcome
            log.info("LLM tool call rejected (%s): %s", outcome.kind, outcome.problem)
            if attempt < MAX_REPAIRS:
                stats.repairs += 1
                messages.extend(self._feedback(reply, decision, outcome, MAX_REPAIRS - attempt))
        return self._give_up(question, as_of, conversation, stats, problem,
                             f"invalid output after {MAX_REPAIRS} corrections", reading)

    def _feedback(self, reply: Any, decision: Decision, problem: Problem, attempts_left: int) -> list[Any]:
        """The model's reply and the tool result(s) explaining why it was rejected."""
        from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

        text = render("plan_repair", self.settings.prompts_dir, problem=problem.problem,
                      hint=problem.hint or "", attempts_left=attempts_left).strip()
        calls = list(reply.tool_calls or [])
        if not calls or decision.call_id is None:  # the decision came from JSON content
            return [AIMessage(content=_content(reply)), HumanMessage(content=text)]
        out: list[Any] = [AIMessage(content=_content(reply), tool_calls=calls)]
        for call in calls:
            body = text if call.get("id") == decision.call_id else "IGNORED: call exactly one tool."
            out.append(ToolMessage(content=body, tool_call_id=call.get("id") or ""))
        return out

    def _done(self, question: str, plan: Plan, conversation: Conversation | None, stats: LLMStats,
              reading: Reading) -> LLMPlan:
        """The plan as an ``LLMPlan`` with its interpretation (what a follow-up kept included),
        recorded in the conversation (a clarifying question with what was understood so far,
        so the offline planner can complete it too)."""
        followup = reading.followup and plan.intent in ("query", "why", "copy")
        previous = reading.previous.plan if followup and reading.previous is not None else None
        plan = dataclasses.replace(plan, followup=followup)
        if plan.interpretation is None:
            try:
                plan = dataclasses.replace(plan, interpretation=interpret(plan, self.layer, previous=previous))
            except Exception:  # noqa: BLE001 - the reading is shown beside the answer, never blocks it
                log.exception("no interpretation for the LLM plan")
        result = as_llm_plan(plan, planner="llm", llm_stats=stats.as_timings())
        if conversation is not None:
            pending = reading.understanding if result.intent == "clarify" else None
            conversation.add(question, result, pending)
        return result

    def _give_up(self, question: str, as_of: date, conversation: Conversation | None, stats: LLMStats,
                 problem: Problem | None, reason: str, reading: Reading) -> LLMPlan:
        """A guard refusal stays a refusal, a value the model keeps inventing is asked about;
        anything else goes to the offline planner."""
        language = language_of(question)
        if problem is not None and problem.kind == "guard":
            message = problem.user_message or problem.hint
            refusal = LLMPlan(intent="refuse", language=language, message=message)  # type: ignore[arg-type]
            return self._done(question, refusal, conversation, stats, reading)
        if problem is not None and problem.kind == "value" and problem.user_message:
            clarify = LLMPlan(intent="clarify", language=language, message=problem.user_message)  # type: ignore[arg-type]
            return self._done(question, clarify, conversation, stats, reading)
        return self._offline(question, as_of, conversation, stats, reason=reason)

    def _offline(self, question: str, as_of: date, conversation: Conversation | None, stats: LLMStats,
                 reason: str | None) -> LLMPlan:
        view = _without_sql_turns(conversation)
        plan = self.fallback.plan(question, as_of=as_of, conversation=view)
        if view is not conversation and conversation is not None and view is not None:
            last = view.last_turn
            conversation.add(question, plan, last.pending if last is not None else None)
        notes = tuple(plan.notes)
        if reason is not None:
            stats.fallback = reason
            log.warning("LLM unavailable (%s): used the offline planner", reason)
            notes += (f"LLM 不可用（{reason}），已改用离线规划 / LLM unavailable ({reason}), used the offline planner",)
        return as_llm_plan(plan, planner="offline", notes=notes, llm_stats=stats.as_timings())

    # ------------------------------------------------------------------ optional text
    @property
    def text_enabled(self) -> bool:
        """``Settings.llm_text`` (CHATBI_LLM_TEXT=1): the model may write findings and copy."""
        return bool(self.settings.llm_text)

    def _write(self, template: str, **values: Any) -> str | None:
        if not self.text_enabled:
            return None
        from langchain_core.messages import HumanMessage

        try:
            chat, _ = self._models()
            prompt = render(template, self.settings.prompts_dir, **values)
            reply = self._invoke(chat, [HumanMessage(prompt)], time.monotonic() + self.settings.llm_timeout_s, None)
        except Exception as exc:  # noqa: BLE001 - the template text is always there to fall back on
            log.info("LLM text not written (%s)", exc)
            return None
        text = _content(reply).strip()
        return text or None

    def write_finding_text(self, facts_summary: Any, *, question: str = "", language: str = "zh") -> str | None:
        """A finding written by the model from the facts, or None (disabled or failed).

        Pass the result as ``candidate=`` to ``chatbi.answer.findings.finding_for``, which checks
        every number against the data and uses the template text when the check fails.
        ``facts_summary``: text, or a ``chatbi.answer.facts.Facts``.
        """
        facts = facts_summary if isinstance(facts_summary, str) else facts_text(facts_summary)
        return self._write("finding", language=language, question=untrusted(question, 300),
                           facts=facts[:4000])

    def write_copy_texts(self, profile: Mapping[str, Any], *, channel: str, count: int, language: str = "zh",
                         segment: str = "", topic: str | None = None) -> list[str] | None:
        """Campaign copy written by the model, or None. Check every text with
        ``chatbi.answer.ad_rules.check_copy`` and fall back to ``copywriter.fallback_items``."""
        text = self._write("copy", language=language, channel=channel, count=int(count),
                           segment=untrusted(segment, 60), topic=untrusted(topic or "-", 60),
                           profile=json.dumps(dict(profile), ensure_ascii=False, default=str)[:3000])
        if text is None:
            return None
        try:
            items = json.loads(text.strip().strip("`").removeprefix("json").strip())
        except json.JSONDecodeError:
            return None
        if not isinstance(items, list):
            return None
        texts = [str(t).strip() for t in items if isinstance(t, str) and t.strip()]
        return texts[: max(1, int(count))] or None


def facts_text(facts: Any) -> str:
    """Compact JSON of a ``Facts`` object (numbers rounded), for the finding prompt."""
    if dataclasses.is_dataclass(facts) and not isinstance(facts, type):
        data = dataclasses.asdict(facts)
    else:
        data = dict(facts)
    for key in ("numbers", "labels", "windows", "counts"):
        data.pop(key, None)

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 4)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v not in (None, (), [], {})}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data), ensure_ascii=False, default=str, separators=(",", ":"))


def _without_sql_turns(conversation: Conversation | None) -> Conversation | None:
    """The conversation as the offline planner may see it: without raw-SQL turns (a follow-up
    can only change a SemanticQuery). The same object when there is nothing to hide."""
    if conversation is None or not any(getattr(t.plan, "sql", None) for t in conversation.turns):
        return conversation
    view = Conversation()
    for turn in conversation.turns:
        if not getattr(turn.plan, "sql", None):
            view.add(turn.question, turn.plan, turn.pending, turn.relation)
    return view


def _content(reply: Any) -> str:
    content = getattr(reply, "content", "")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def _messages_text(messages: list[Any]) -> str:
    parts = []
    for message in messages:
        parts.append(_content(message))
        for call in getattr(message, "tool_calls", None) or []:
            parts.append(json.dumps(call.get("args", {}), ensure_ascii=False))
    return "\n".join(parts)


def _default_examples(layer: SemanticLayer) -> list[tuple[str, dict[str, Any]]]:
    """The hand-written worked examples that fit ``layer`` (no index, no database)."""
    try:
        from chatbi.retrieval.examples import usable_examples

        return [(e.question, e.semantic_query) for e in usable_examples(layer, None)]
    except Exception as exc:  # noqa: BLE001 - examples are an aid, not a requirement
        log.info("no worked examples for the LLM prompt: %s", exc)
        return []

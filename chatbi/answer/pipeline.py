"""The one straight line from a question to an Answer (ARCHITECTURE.md).

understand/plan → compile → guard → execute → chart → finding. Every channel calls
``Pipeline.ask``; nothing here knows which channel asked. The pipeline holds only
long-lived, read-only resources (semantic layer, planner, executor); conversation state
lives in the ``Conversation`` the caller passes.

Each answer reads one version of the warehouse (``Executor.snapshot``): when a rebuild swaps
the file, an answer in flight finishes on the old version and the next one sees the new
version, with the caches read from the warehouse (as-of date, dimension values, planner)
refreshed.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from datetime import date
from typing import Any, Literal

from chatbi.answer.types import Answer
from chatbi.config import Settings
from chatbi.errors import ChatBIError, RefusedError, UnclearQuestionError, UserInputError
from chatbi.sql.policy import Role

MAX_QUESTION_CHARS = 2000
log = logging.getLogger(__name__)


class _Timer:
    """Collects stage timings in milliseconds."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}

    def stage(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - since) * 1000
        return now

    def finish(self) -> dict[str, float]:
        self.timings["total"] = (time.perf_counter() - self.start) * 1000
        return self.timings


MIN_AS_OF = date(1900, 1, 1)
MAX_AS_OF = date(2999, 12, 31)


def check_as_of(as_of: date | None) -> date | None:
    """Refuse an as-of date outside ``MIN_AS_OF``..``MAX_AS_OF``: every period computed around
    it (last quarter, a year earlier, rolling windows) must stay a valid date."""
    if as_of is not None and not MIN_AS_OF <= as_of <= MAX_AS_OF:
        raise UserInputError(
            f"日期 {as_of.isoformat()} 超出范围，请用 {MIN_AS_OF.isoformat()} 到 {MAX_AS_OF.isoformat()} "
            f"之间的日期 / the date {as_of.isoformat()} is out of range; use a date between "
            f"{MIN_AS_OF.isoformat()} and {MAX_AS_OF.isoformat()}.",
            code="invalid_date",
        )
    return as_of


def clean_question(question: str) -> str:
    """Strip control characters and surrounding space; reject empty or oversized input."""
    if question is None:
        raise UserInputError("请输入一个问题 / Please ask a question.", code="empty_question")
    text = "".join(ch for ch in str(question) if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    text = " ".join(text.split())
    if not text:
        raise UnclearQuestionError("请输入一个问题，例如“各大区的GMV” / Please ask a question, e.g. 'GMV by region'.",
                                   code="empty_question")
    if len(text) > MAX_QUESTION_CHARS:
        raise UserInputError(
            f"问题太长（{len(text)} 字符，上限 {MAX_QUESTION_CHARS}）/ The question is too long "
            f"({len(text)} characters, limit {MAX_QUESTION_CHARS}). Please shorten it.",
            code="question_too_long",
        )
    return text


def detect_language(text: str) -> Literal["zh", "en"]:
    """The question's language by the planner's rule (English when its English words outnumber
    its Chinese characters), so answers stopped before planning speak the same language."""
    from chatbi.planner.text import language_of

    return "zh" if language_of(text) == "zh" else "en"


class Pipeline:
    """Long-lived answering engine shared by every channel and session."""

    def __init__(self, settings: Settings):
        from chatbi.retrieval.planning_cache import load_layer
        from chatbi.semantic.catalog import Catalog
        from chatbi.sql.engines import open_executor

        self.settings = settings
        self.layer = load_layer(settings.semantic_dir, settings.index_dir)  # validated, cached
        self.catalog_ = Catalog(self.layer)
        self.policy = self.catalog_.access_policy(settings.max_rows)
        self.executor = open_executor(settings)  # CHATBI_ENGINE: duckdb, postgres or spark
        self._lock = threading.Lock()
        self._values: dict[str, list[str]] | None = None
        self._planner: Any = None
        self._default_as_of: date | None = None
        self._catalog_summary: dict[str, Any] | None = None
        self._version: Any = None  # the warehouse version the caches above were read from

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Pipeline:
        return cls(settings or Settings.from_env())

    # ---- resources loaded on first use -------------------------------------------------
    def dimension_values(self) -> dict[str, list[str]]:
        """Distinct values of low-cardinality dimensions, read once from the warehouse."""
        with self._lock:
            if self._values is None and not self._cached_planning():
                from chatbi.retrieval.planning_cache import save_planning
                from chatbi.retrieval.values import read_dimension_values

                as_of = self.default_as_of()
                self._values = read_dimension_values(self.layer, self.executor, as_of)
                save_planning(self.settings.index_dir, self.executor.version(), self.layer, as_of, self._values)
            assert self._values is not None
            return self._values

    def _cached_planning(self) -> bool:
        """Take the as-of date and dimension values from the index folder when they were saved
        for this version of the warehouse file (``chatbi.retrieval.planning_cache``)."""
        from chatbi.retrieval.planning_cache import load_planning

        hit = load_planning(self.settings.index_dir, self.executor.version(), self.layer)
        if hit is None:
            return False
        self._default_as_of, self._values = hit
        return True

    @property
    def planner(self) -> Any:
        """The offline planner, or the LLM planner (with the offline one as fallback)."""
        if self._planner is None:
            from chatbi.planner.offline import OfflinePlanner

            planner: Any = OfflinePlanner(self.layer, self.dimension_values())
            if self.settings.use_llm:
                from chatbi.planner.llm import LLMPlanner

                planner = LLMPlanner(self.settings, self.layer, retriever=self._retriever(),
                                     fallback=planner, policy=self.policy, executor=self.executor,
                                     values=self.dimension_values())
            with self._lock:
                self._planner = self._planner or planner
        return self._planner

    def _retriever(self) -> Any:
        """The index built by `chatbi init`; a missing or damaged one is rebuilt here (None when
        it cannot be: exact name matching is used)."""
        try:
            from chatbi.retrieval.index import open_retriever
            from chatbi.retrieval.retriever import Retriever

            if self.settings.index_dir.exists():
                retriever = open_retriever(self.settings, self.layer)
            else:
                log.warning("retrieval index %s is missing: building it now", self.settings.index_dir)
                retriever = Retriever(self.layer, index_dir=self.settings.index_dir,
                                      values=self.dimension_values(), app_db_path=self.settings.app_db_path)
            retriever.ensure_index()  # now, not inside the first question's LLM timeout
            return retriever
        except Exception as exc:  # noqa: BLE001 - the index is optional; name matching still works
            log.warning("retrieval index unavailable, LLM planner uses name matching: %s", exc)
            return None

    def _refresh_if_replaced(self) -> None:
        """Forget what was read from an older version of the warehouse file."""
        version = self.executor.version()
        with self._lock:
            if self._version is not None and version != self._version:
                log.info("warehouse %s was replaced: reloading as-of date, values and planner",
                         self.settings.db_path)
                self._values, self._planner, self._default_as_of = None, None, None
            self._version = version

    def default_as_of(self) -> date:
        """The warehouse's as-of date: the date of the latest order."""
        if self._default_as_of is None and not self._cached_planning():
            value = self.executor.scalar(self._sql("SELECT CAST(MAX(order_ts) AS DATE) FROM orders"))
            self._default_as_of = value or date.today()
        assert self._default_as_of is not None  # read above or from the planning cache
        return self._default_as_of

    def _sql(self, duckdb_sql: str) -> str:
        """SQL the pipeline writes itself (DuckDB text), rendered for the engine."""
        from chatbi.sql.engines import dialect_of, render

        return render(duckdb_sql, dialect_of(self.executor))

    def new_conversation(self) -> Any:
        from chatbi.planner.context import Conversation

        return Conversation()

    # ---- answering ---------------------------------------------------------------------
    def ask(self, question: str, *, conversation: Any = None, role: str | Role = "admin",
            as_of: date | None = None) -> Answer:
        """Answer one question; user problems come back as an Answer with ``error`` set."""
        from chatbi.answer.respond import respond
        from chatbi.answer.turns import record_outcome

        timer = _Timer()
        raw = "" if question is None else str(question)
        answer = Answer(question=raw[:MAX_QUESTION_CHARS], language=detect_language(raw))
        turn_before = getattr(conversation, "last_turn", None)
        try:
            text = clean_question(raw)
            check_as_of(as_of)
            answer.question = text
            role_obj = role if isinstance(role, Role) else Role.parse(role)
            with self.executor.snapshot():
                self._refresh_if_replaced()
                answer = respond(self, text, conversation=conversation, role=role_obj,
                                 as_of=as_of or self.default_as_of(), timer=timer, answer=answer)
        except ChatBIError as exc:
            if exc.exit_code == 1:
                raise
            answer.intent = "refuse" if isinstance(exc, RefusedError) else "clarify"
            answer.error = exc.to_dict()
            answer.finding = exc.message
        record_outcome(conversation, answer, turn_before)
        self._label(answer)
        answer.timings_ms = timer.finish()
        return answer

    def _label(self, answer: Answer) -> None:
        """Attach the labelled table every channel shows and exports (``chatbi.answer.labels``)."""
        from chatbi.answer.labels import label_answer

        table = label_answer(answer, self.layer) if answer.error is None else None
        answer.table = table.to_dict() if table is not None else None

    def run_sql(self, sql: str, *, role: str | Role = "admin") -> Answer:
        """Hand-written SQL through the same guard and executor (``chatbi sql``)."""
        from chatbi.answer.respond import respond_sql

        timer = _Timer()
        answer = Answer(question=sql, intent="query", planner="offline", language="en")
        try:
            role_obj = role if isinstance(role, Role) else Role.parse(role)
            with self.executor.snapshot():
                respond_sql(self, sql, role=role_obj, timer=timer, answer=answer)
        except ChatBIError as exc:
            if exc.exit_code == 1:
                raise
            answer.intent = "refuse"
            answer.error = exc.to_dict()
            answer.finding = exc.message
        self._label(answer)
        answer.timings_ms = timer.finish()
        return answer

    # ---- information for channels ------------------------------------------------------
    def freshness(self) -> dict[str, Any]:
        latest = self.default_as_of()
        built = None
        try:
            built = self.executor.scalar(self._sql("SELECT MAX(built_at) FROM profile_build_info"))
        except ChatBIError:
            built = None
        return {
            "latest_order_date": latest.isoformat() if latest else None,
            "profile_built_at": built.isoformat(sep=" ", timespec="seconds") if built else None,
            "as_of": latest.isoformat() if latest else None,
        }

    def planner_info(self) -> dict[str, Any]:
        if self.settings.use_llm:
            return {"planner": "llm", "model": self.settings.model}
        return {"planner": "offline", "model": None}

    def catalog(self) -> dict[str, Any]:
        """Metrics and dimensions with definitions (computed once; the layer is immutable)."""
        if self._catalog_summary is None:
            self._catalog_summary = self._build_catalog()
        return self._catalog_summary

    def _build_catalog(self) -> dict[str, Any]:
        metrics = []
        for metric in self.layer.metrics:
            definition = self.catalog_.metric_definition(metric.name)
            metrics.append({
                "name": metric.name, "label": metric.label, "label_en": metric.label_en,
                "description": metric.description, "sql": definition.sql,
                "synonyms": list(metric.synonyms), "unit": metric.unit, "format": metric.format,
            })
        dimensions = [
            {"name": dim.name, "label": dim.label, "label_en": dim.label_en, "model": model.name,
             "type": dim.type, "description": dim.description, "synonyms": list(dim.synonyms)}
            for model, dim in self.layer.all_dimensions() if not dim.pii
        ]
        return {"metrics": metrics, "dimensions": dimensions}

    def starter_questions(self, language: str = "zh") -> list[str]:
        if language == "en":
            return [
                "GMV by region", "Monthly GMV trend this year", "Top 10 merchants by GMV last quarter",
                "Share of GMV by channel", "How is repurchase rate defined?",
            ]
        return [
            "各大区的GMV", "今年按月的GMV趋势", "上个季度华东大区哪个品类的销售额增长最快？",
            "各渠道GMV占比", "高价值用户有多少？", "复购率怎么算？",
        ]

    def close(self) -> None:
        self.executor.close()

"""ChatBI chat app (Streamlit): history, answers with chart/table/show-your-work, feedback.

No business logic: every answer comes from ``Pipeline.ask``. The Pipeline is shared by all
sessions (``st.cache_resource``); each browser session has its own Conversation in
``st.session_state``. Feedback goes to the application database (SQLite beside the
warehouse, never the warehouse itself). Run with ``make run``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import streamlit as st

from chatbi.channels import web, web_auth, web_history
from chatbi.config import Settings

st.set_page_config(page_title="ChatBI", page_icon="📊", layout="wide")

SETTINGS = Settings.from_env()


# ------------------------------------------------------------------ shared resources

@st.cache_resource(show_spinner="正在打开数据仓库… / opening the warehouse…", max_entries=4)
def load_pipeline(key: str, _settings: Settings) -> Any:
    """One Pipeline per ``web.pipeline_key`` for the whole server: a rebuilt warehouse file
    or changed settings get a new one (exceptions are not cached)."""
    from chatbi.channels.cli import load_pipeline as open_pipeline

    return open_pipeline(_settings, server=True)  # queries in worker processes (issue 18)


def current_pipeline() -> Any:
    return load_pipeline(web.pipeline_key(SETTINGS), SETTINGS)


@st.cache_resource
def feedback_store(app_db: str) -> Any:
    from chatbi.channels.feedback import FeedbackStore

    return FeedbackStore(app_db)


@st.cache_resource
def account_store(app_db: str) -> Any:
    from chatbi.channels.accounts import AccountStore

    return AccountStore(app_db)


@st.cache_resource
def history_store(app_db: str) -> Any:
    from chatbi.channels.history import HistoryStore

    return HistoryStore(app_db)


def get_history() -> Any | None:
    try:
        return history_store(str(SETTINGS.app_db_path))
    except Exception as exc:  # history is optional: the chat still works
        st.sidebar.warning(f"历史不可用 / history unavailable: {getattr(exc, 'message', exc)}")
        return None


def get_store() -> Any | None:
    try:
        return feedback_store(str(SETTINGS.app_db_path))
    except Exception as exc:  # feedback is optional: the chat still works
        st.sidebar.warning(f"反馈库不可用 / feedback unavailable: {exc}")
        return None


# ------------------------------------------------------------------ session state

def init_state() -> None:
    state = st.session_state
    state.setdefault("messages", [])
    state.setdefault("conversation", None)
    state.setdefault("conversation_role", None)
    state.setdefault("pending", None)


def ask_later(question: str) -> None:
    """Button callback: ask ``question`` in this run (starter questions, follow-ups)."""
    st.session_state.pending = question


def new_chat() -> None:
    web_history.forget_current()


def rate(message_id: str, rating: str) -> None:
    """Button callback: store 👍/👎 for one answer."""
    message = next((m for m in st.session_state.messages if m.get("id") == message_id), None)
    store = get_store()
    if message is None or store is None or message.get("feedback"):
        return
    try:
        message["feedback_id"] = store.record(message["question"], message["answer"], rating,
                                              message.get("asked_as", "admin"))
        message["feedback"] = rating
    except Exception as exc:
        st.session_state.flash = f"反馈没有保存 / feedback not saved: {exc}"


def promote(feedback_id: int) -> None:
    """Button callback (admin): turn a 👍 answer into a retrieval example."""
    store = get_store()
    if store is None:
        return
    try:
        example_id = store.promote(feedback_id)
        st.session_state.flash = f"已设为示例 #{example_id} / promoted to example #{example_id}"
    except Exception as exc:
        st.session_state.flash = f"无法设为示例 / cannot promote: {getattr(exc, 'message', exc)}"


# ------------------------------------------------------------------ sidebar

def sidebar(pipeline: Any | None, signed: web_auth.SignedIn) -> tuple[Any, dt.date | None]:
    """Account, as-of date, planner, freshness, admin controls, history; returns (role, as_of).

    The role is the account's; an admin may view the app as a narrower role."""
    bar = st.sidebar
    bar.title("📊 ChatBI")
    bar.caption(web_auth.account_caption(signed))
    if signed.method != "local":
        bar.button("退出登录 / sign out", key="sign_out", on_click=web_auth.sign_out,
                   args=(account_store(str(SETTINGS.app_db_path)),))
    role = signed.account.role_obj
    if signed.account.is_admin:
        choice = str(bar.selectbox("查看角色 / view as", list(web.ROLE_CHOICES), key="role_choice",
                                   format_func=lambda c: web.ROLE_LABELS.get(c, c)))
        merchant_id = None
        if choice == "merchant":
            merchant_id = int(bar.number_input("商户ID / merchant id", min_value=1, step=1, value=1, key="merchant_id"))
        role = web.role_from_choice(choice, merchant_id)
    as_of = None
    if pipeline is not None:
        try:
            fresh = pipeline.freshness()
            info = pipeline.planner_info()
        except Exception as exc:
            fresh, info = {}, {"planner": "?", "model": None}
            bar.warning(f"无法读取数据状态 / cannot read data status: {getattr(exc, 'message', exc)}")
        latest = fresh.get("latest_order_date")
        default = dt.date.fromisoformat(latest) if latest else dt.date.today()
        as_of = bar.date_input("数据截至 / as of", value=default, key=f"as_of_{default.isoformat()}",
                               help="“上个季度”等相对时间以此日期为准 / relative times resolve against this date")
        model = f" · {info.get('model')}" if info.get("model") else ""
        bar.caption(f"Planner: **{info.get('planner')}**{model}")
        bar.caption(f"最新订单 / latest order: {latest or '—'}  \n"
                    f"画像生成 / profiles built: {fresh.get('profile_built_at') or '—'}")
    bar.button("新对话 / new chat", on_click=new_chat, key="new_chat")
    admin = signed.account.is_admin and role.name == "admin"  # viewing as another role hides them
    if pipeline is not None and admin:
        rebuild_section(pipeline)
    if admin:
        admin_section()
    if pipeline is not None:
        web_history.sidebar(get_history(), str(role), display_for(pipeline))
    return role, as_of


def rebuild_section(pipeline: Any) -> None:
    bar = st.sidebar
    if not bar.button("重建画像 / rebuild profiles", key="rebuild"):
        return
    progress = bar.progress(0.0, text="开始 / starting…")

    def report(step: str, fraction: float) -> None:
        progress.progress(max(0.0, min(1.0, float(fraction))), text=step or "…")

    try:
        from chatbi.profiles.build import build_profiles

        result = build_profiles(SETTINGS.db_path, progress=report)
    except Exception as exc:
        bar.error(f"重建失败 / rebuild failed: {getattr(exc, 'message', exc)}")
        return
    progress.progress(1.0, text="完成 / done")
    close = getattr(pipeline, "close", None)
    if callable(close):
        close()  # release the old file so the next Pipeline opens the new one
    load_pipeline.clear()
    lines = result.summary_lines() if hasattr(result, "summary_lines") else []
    bar.success("画像已重建 / profiles rebuilt" + ("\n\n" + "\n\n".join(map(str, lines[:6])) if lines else ""))


def admin_section() -> None:
    store = get_store()
    if store is None:
        return
    with st.sidebar.expander("管理 / admin: 反馈 feedback", expanded=False):
        try:
            liked = store.list("up", limit=50)
            disliked = store.list("down", limit=20)
        except Exception as exc:
            st.warning(f"读取反馈失败 / cannot read feedback: {exc}")
            return
        st.caption(f"👍 {len(liked)} · 👎 {len(disliked)}")
        for item in liked:
            st.markdown(f"👍 #{item.id} {web.md(item.question)}")
            if item.promoted:
                st.caption(f"已是示例 / example #{item.example_id}")
            else:
                st.button("设为示例 / promote", key=f"promote_{item.id}", on_click=promote, args=(item.id,))
        if disliked:
            st.markdown("**待复查 / to review (👎)**")
            for item in disliked:
                st.caption(f"👎 #{item.id} {item.question}")


# ------------------------------------------------------------------ answer rendering

def display_for(pipeline: Any) -> Any:
    """Column labels for a stored answer (as ``answer_question`` computes them)."""
    def display(data: dict[str, Any]) -> Any:
        try:
            return web.column_display(list(data.get("columns") or []), pipeline.catalog(),
                                      str(data.get("language") or "zh"))
        except Exception:
            return None
    return display


def render_answer(message: dict[str, Any]) -> None:
    if web_history.stale_notice(message, ask_later):
        return
    data: dict[str, Any] = message["answer"]
    mid = message["id"]
    error = data.get("error")
    if error:
        st.warning(web.md(error.get("message") or "没能回答 / could not answer"))
        hint = web.next_step(error)
        if hint:
            st.caption(hint)
    else:
        if not (data.get("finding") or data.get("copy") or data.get("columns") or data.get("definitions")):
            st.info("没有可显示的结果 / nothing to show for this question")
        interpretation = (data.get("interpretation") or {}).get("text")
        if interpretation:
            st.caption(web.md(interpretation))
        if data.get("finding"):
            st.markdown(web.md(data["finding"]))
        render_copy(data.get("copy") or [], str(data.get("language") or "zh"))
        if data.get("chart"):
            st.vega_lite_chart(web.display_spec(data["chart"]), width="stretch")
        render_table(data, mid, message.get("display"))
        render_work(data)
    render_followups(data.get("followups") or [], mid)
    render_feedback(message)
    web_history.answer_actions(get_history(), message)


def render_copy(items: list[dict[str, Any]], language: str = "zh") -> None:
    from chatbi.answer.labels import copy_heading

    for item in items:
        with st.container(border=True):
            st.markdown(f"**{web.md(copy_heading(item, language))}**")
            if item.get("title"):
                st.markdown(f"*{web.md(item['title'])}*")
            st.code(item.get("text", ""), language=None, wrap_lines=True)


def render_table(data: dict[str, Any], mid: str,
                 display: tuple[dict[str, str], set[str]] | None = None) -> None:
    if data.get("table") and data.get("columns"):
        render_labelled_table(data, mid)
        return
    frame = web.answer_frame(data)
    if frame.empty and not len(frame.columns):
        return
    labels, percent = display or ({}, set(web.percent_columns(list(frame.columns))))
    config: dict[str, Any] = {c: st.column_config.Column(label=labels.get(c, c)) for c in frame.columns}
    config.update({c: st.column_config.NumberColumn(label=labels.get(c, c), format="localized")
                   for c in web.number_columns(frame) if c not in percent})
    config.update({c: st.column_config.NumberColumn(label=labels.get(c, c), format="percent")
                   for c in percent if c in frame.columns})
    st.dataframe(frame, hide_index=True, column_config=config)
    note = " · 结果已截断 / truncated" if data.get("truncated") else ""
    left, right = st.columns([3, 1])
    left.caption(f"{len(frame)} 行 / rows{note}")
    right.download_button("下载 CSV / download", web.csv_bytes(frame), file_name="chatbi.csv",
                          mime="text/csv", key=f"csv_{mid}")


def render_labelled_table(data: dict[str, Any], mid: str) -> None:
    """The answer's labelled table (chatbi.answer.labels) and its downloads: CSV, Excel, chart."""
    from functools import partial

    from chatbi.answer import exports

    frame, formats = web.table_view(data["table"])
    steps = web.money_steps(data["table"])  # ¥12.50 stays ¥12.50, as in the CLI and the exports
    config: dict[str, Any] = {c: st.column_config.NumberColumn(format=f, step=steps.get(c))  # type: ignore[arg-type]
                              for c, f in formats.items()}
    st.dataframe(frame, hide_index=True, column_config=config)
    en = data.get("language") == "en"
    note = (" · truncated" if en else " · 结果已截断") if data.get("truncated") else ""
    st.caption(f"{len(frame)} {'rows' if en else '行'}{note}")
    buttons = [("CSV", partial(exports.csv_bytes, data), "chatbi.csv", "text/csv", "csv"),
               ("Excel", partial(exports.xlsx_bytes, data), "chatbi.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")]
    if data.get("chart"):
        buttons += [(("Chart" if en else "图表") + " PNG", partial(exports.chart_image, data["chart"], "png"),
                     "chatbi.png", "image/png", "png"),
                    (("Chart" if en else "图表") + " SVG", partial(exports.chart_image, data["chart"], "svg"),
                     "chatbi.svg", "image/svg+xml", "svg")]
    with st.container(horizontal=True):  # one row, each button as wide as its label
        for label, produce, name, mime, key in buttons:
            st.download_button(("Download " if en else "下载 ") + label, produce, file_name=name, mime=mime,
                               key=f"{key}_{mid}", on_click="ignore")


def render_work(data: dict[str, Any]) -> None:
    with st.expander("查看SQL与口径 / Show your work"):
        if data.get("time_range"):
            st.markdown(f"**时间范围 / time range:** {web.md(data['time_range'])}")
        for note in data.get("notes") or []:
            st.caption(note)
        for d in data.get("definitions") or []:
            st.markdown(f"**{web.md(d.get('label'))}** (`{d.get('name')}`): {web.md(d.get('description'))}")
            if d.get("sql"):
                st.code(d["sql"], language="sql", wrap_lines=True)
        if data.get("sql"):
            st.markdown("**SQL**")
            st.code(web.pretty_sql(data["sql"]), language="sql", wrap_lines=True)
        if data.get("semantic_query"):
            st.markdown("**语义查询 / semantic query**")
            st.json(data["semantic_query"], expanded=False)
        timings = data.get("timings_ms") or {}
        if timings.get("total"):
            st.caption(f"耗时 / time: {timings['total']:.0f} ms · planner: {data.get('planner')}")


def render_followups(followups: list[str], mid: str) -> None:
    if not followups:
        return
    st.caption("接着问 / follow-ups")
    cols = st.columns(min(len(followups), 3))
    for i, question in enumerate(followups[:6]):
        cols[i % len(cols)].button(question, key=f"follow_{mid}_{i}", on_click=ask_later, args=(question,))


def render_feedback(message: dict[str, Any]) -> None:
    mid = message["id"]
    if message.get("feedback"):
        st.caption("谢谢反馈 / thanks for the feedback " + ("👍" if message["feedback"] == "up" else "👎"))
        return
    left, right, _ = st.columns([1, 1, 6])
    left.button("👍 有用", key=f"up_{mid}", on_click=rate, args=(mid, "up"), help="回答正确 / correct")
    right.button("👎 有误", key=f"down_{mid}", on_click=rate, args=(mid, "down"), help="回答有误 / wrong")


# ------------------------------------------------------------------ main

def answer_question(pipeline: Any, question: str, role: Any, as_of: dt.date | None) -> None:
    state = st.session_state
    web_history.prepare_conversation(pipeline, role, as_of)
    if state.conversation is None or state.conversation_role != str(role):
        state.conversation = pipeline.new_conversation()
        state.conversation_role = str(role)
    state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        with st.spinner("思考中… / thinking…"):
            try:
                answer = pipeline.ask(question, conversation=state.conversation, role=role, as_of=as_of)
                data = answer.to_dict()
                display = web.column_display(answer.columns, pipeline.catalog(), answer.language)
            except Exception as exc:  # shown as a friendly message, never a traceback
                data, display = web.error_data(question, exc), None
        message = {"id": uuid.uuid4().hex[:12], "role": "assistant", "question": question,
                   "answer": data, "asked_as": str(role), "feedback": None, "display": display}
        state.messages.append(message)
        web_history.save_turn(get_history(), message, as_of)
        render_answer(message)


def main() -> None:
    init_state()
    try:
        accounts = account_store(str(SETTINGS.app_db_path))
    except Exception as exc:  # without the account store nobody can be let in
        st.error(f"无法打开账户库 / cannot open the account store: {getattr(exc, 'message', exc)}")
        return
    web_auth.cookie_script()
    signed = web_auth.current(accounts)
    if signed is None:
        web_auth.sign_in_page(accounts)
        return
    st.session_state.history_user = signed.account.username
    pipeline, load_error = None, None
    try:
        pipeline = current_pipeline()
    except Exception as exc:
        load_error = exc
    shared = web_history.take_shared_link(get_history())
    if shared is not None:
        web_history.start_chain(shared)
    role, as_of = sidebar(pipeline, signed)
    flash = st.session_state.pop("flash", None)
    if flash:
        st.toast(flash)
    st.title("ChatBI")
    if load_error is not None:
        message, step = web.friendly_load_error(load_error)
        st.error(message)
        st.info(step)
        return
    assert pipeline is not None
    st.caption(f"角色 / role: **{role}** · 用中文或英文提问 / ask in Chinese or English")
    typed = st.chat_input("问一个问题… / ask a question…", max_chars=2000)  # pinned to the bottom
    web_history.restore_from_url(get_history(), str(role), display_for(pipeline))
    question = typed or st.session_state.pending
    st.session_state.pending = None
    chain = st.session_state.pop("pending_chain", None)
    if chain is not None and not typed:
        question = chain.question
        as_of = dt.date.fromisoformat(chain.as_of) if chain.as_of else None  # pins: the latest data
    if not st.session_state.messages and not question:
        st.markdown("**试试这些问题 / try one of these**")
        try:
            starters = pipeline.starter_questions("zh")
        except Exception:
            starters = []
        cols = st.columns(3)
        for i, starter in enumerate(starters[:6]):
            cols[i % 3].button(starter, key=f"starter_{i}", on_click=ask_later, args=(starter,))
    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.text(message["content"])
            else:
                render_answer(message)
    if question and question.strip():
        answer_question(pipeline, question.strip(), role, as_of)


main()

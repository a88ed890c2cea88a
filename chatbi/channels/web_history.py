"""History in the Streamlit app: saved conversations, share links and pinned questions.

The store is chatbi.channels.history (the application database). This module holds the
Streamlit side: the sidebar lists, the per-answer "pin" and "share" buttons, and what a
reload, a reopened conversation, a share link or a pin asks the pipeline.

- The current conversation's id is kept in the URL (``?c=…``): a reload reopens it. The id
  is only a name; it opens nothing for another user.
- A reopened conversation shows the answers as they were saved, except answers saved under
  another role than the user's current one, which are asked again instead of shown (a user
  demoted from admin no longer sees the PII an old answer held). Follow-ups in a reopened
  conversation work: its last questions are asked again, silently, to rebuild the context.
- ``?share=TOKEN`` asks the shared questions again for whoever opens it, with their own role.
- A pin asks its questions again on the latest data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from chatbi.channels.history import CHAIN_TURNS, Chain, HistoryStore, StoredTurn
from chatbi.errors import ChatBIError

Display = Callable[[dict[str, Any]], Any]


def _flash(text: str) -> None:
    st.session_state["flash"] = text


def username() -> str | None:
    return st.session_state.get("history_user")


# ------------------------------------------------------------------ saving

def save_turn(store: HistoryStore | None, message: dict[str, Any], as_of: dt.date | None) -> None:
    """Store one answered question in the user's current conversation (started on the first)."""
    user = username()
    if store is None or user is None:
        return
    state = st.session_state
    try:
        cid = state.get("conversation_id")
        if cid is None:
            cid = store.start(user, message["question"])
            state["conversation_id"] = cid
        store.add_turn(user, cid, message["id"], message["question"], message["answer"],
                       message.get("asked_as", ""), as_of.isoformat() if as_of else None)
        message["saved"] = True
        st.query_params["c"] = cid
    except ChatBIError as exc:
        _flash(f"历史没有保存 / history not saved: {exc.message}")


# ------------------------------------------------------------------ reopening

def messages_from_turns(turns: list[StoredTurn], role: str, display: Display) -> list[dict[str, Any]]:
    """Chat messages for stored turns; an answer saved under another role is not shown."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        out.append({"role": "user", "content": turn.question})
        same_role = turn.role == role
        out.append({"id": turn.id, "role": "assistant", "question": turn.question,
                    "answer": turn.answer if same_role else {}, "asked_as": turn.role,
                    "feedback": None, "display": display(turn.answer) if same_role else None,
                    "saved": True, "stale_role": None if same_role else turn.role})
    return out


def open_conversation(store: HistoryStore, cid: str, role: str, display: Display) -> bool:
    """Load one of the user's conversations into the chat; False when it is not theirs."""
    user = username()
    if user is None:
        return False
    try:
        turns = store.turns(user, cid)
    except ChatBIError:
        return False
    state = st.session_state
    state["messages"] = messages_from_turns(turns, role, display)
    state["conversation"] = None
    state["conversation_id"] = cid
    state["replay"] = [t.question for t in turns[-CHAIN_TURNS:]]
    st.query_params["c"] = cid
    return True


def restore_from_url(store: HistoryStore | None, role: str, display: Display) -> None:
    """After a reload: reopen the conversation named in the URL (once per session)."""
    state = st.session_state
    if store is None or state.get("url_restored"):
        return
    state["url_restored"] = True
    cid = st.query_params.get("c")
    if cid and not state.get("messages") and not open_conversation(store, cid, role, display):
        del st.query_params["c"]


def forget_current() -> None:
    """Start a new, empty conversation (the old one stays in the history)."""
    state = st.session_state
    state["messages"] = []
    state["conversation"] = None
    state["conversation_id"] = None
    state["replay"] = []
    if "c" in st.query_params:
        del st.query_params["c"]


def prepare_conversation(pipeline: Any, role: Any, as_of: dt.date | None) -> None:
    """Before the next question: rebuild the follow-up context of a reopened conversation."""
    state = st.session_state
    questions = state.get("replay") or []
    if not questions:
        return
    state["replay"] = []
    state["conversation"] = pipeline.new_conversation()
    state["conversation_role"] = str(role)
    for question in questions:
        try:
            pipeline.ask(question, conversation=state["conversation"], role=role, as_of=as_of)
        except Exception:  # a failing earlier question only loses follow-up context
            continue


# ------------------------------------------------------------------ shares and pins

def take_shared_link(store: HistoryStore | None) -> Chain | None:
    """The questions of a ``?share=TOKEN`` link in the URL (removed from the URL once read)."""
    from chatbi.channels.web_auth import take_remembered_link

    token = st.query_params.get("share")
    remembered = take_remembered_link()  # a link opened before an SSO sign-in
    if token:
        del st.query_params["share"]
    token = token or remembered
    if not token:
        return None
    if store is None:
        return None
    try:
        chain = store.shared(token)
        _flash("已打开分享的回答，按你的角色重新计算 / a shared answer, made again with your role")
        return chain
    except ChatBIError as exc:
        _flash(exc.message)
        return None


def start_chain(chain: Chain) -> None:
    """Ask a chain in a new conversation: its earlier questions silently, then the last one."""
    forget_current()
    st.session_state["replay"] = list(chain.questions[:-1])
    st.session_state["pending_chain"] = chain


def share_url(token: str) -> str:
    """The link to a shared answer (the app's URL with ``?share=``)."""
    base = ""
    try:
        base = st.context.url or ""
    except Exception:
        base = ""
    return f"{base}?share={token}"


def _share(store: HistoryStore, mid: str) -> None:
    user = username()
    if user is None:
        return
    try:
        st.session_state.setdefault("share_links", {})[mid] = share_url(store.share(user, mid))
    except ChatBIError as exc:
        _flash(exc.message)


def _pin(store: HistoryStore, mid: str) -> None:
    user = username()
    if user is None:
        return
    try:
        store.pin(user, mid)
        _flash("已置顶 / pinned: it re-runs on the latest data from the sidebar")
    except ChatBIError as exc:
        _flash(exc.message)


def answer_actions(store: HistoryStore | None, message: dict[str, Any]) -> None:
    """Pin and share buttons under a saved answer, and its link once shared."""
    if store is None or not message.get("saved") or username() is None:
        return
    mid = message["id"]
    left, right, _ = st.columns([2, 2, 5])
    left.button("📌 置顶 / pin", key=f"pin_{mid}", on_click=_pin, args=(store, mid),
                help="在侧栏重跑最新数据 / re-run on the latest data from the sidebar")
    right.button("🔗 分享 / share", key=f"share_{mid}", on_click=_share, args=(store, mid),
                 help="别人打开时按他自己的角色重新计算 / others see it with their own role")
    link = st.session_state.get("share_links", {}).get(mid)
    if link:
        st.caption("分享链接（对方登录后按其角色重新计算）/ share link (re-asked with the viewer's role):")
        st.code(link, language=None)


def stale_notice(message: dict[str, Any], ask_later: Callable[[str], None]) -> bool:
    """For an answer saved under another role: a note and a button to ask again. True if shown."""
    role = message.get("stale_role")
    if not role:
        return False
    st.info(f"这个回答是以 {role} 角色得到的，你现在的角色不同，需要重新计算。"
            f" / This answer was made for the role {role}; ask again to see it with your role.")
    st.button("重新计算 / ask again", key=f"reask_{message['id']}", on_click=ask_later,
              args=(message["question"],))
    return True


# ------------------------------------------------------------------ sidebar

def sidebar(store: HistoryStore | None, role: str, display: Display) -> None:
    """Pinned questions and the user's conversations: open, delete, re-run."""
    user = username()
    if store is None or user is None:
        return
    bar = st.sidebar
    try:
        pins = store.pins(user)
        conversations = store.conversations(user)
    except ChatBIError as exc:
        bar.warning(exc.message)
        return
    if pins:
        bar.markdown("**📌 置顶问题 / pinned** (最新数据 / latest data)")
        for pin in pins:
            left, right = bar.columns([5, 1])
            left.button(pin.question, key=f"pin_run_{pin.id}", on_click=start_chain, args=(pin.chain,),
                        width="stretch")
            right.button("✕", key=f"pin_remove_{pin.id}", on_click=_unpin, args=(store, pin.id),
                         help="取消置顶 / unpin")
    bar.markdown("**历史对话 / history**")
    if not conversations:
        bar.caption("还没有 / none yet")
    current = st.session_state.get("conversation_id")
    for item in conversations:
        left, right = bar.columns([5, 1])
        label = ("▶ " if item.id == current else "") + item.title
        left.button(label, key=f"history_open_{item.id}", on_click=_open,
                    args=(store, item.id, role, display), help=f"{item.turns} 问 / questions · {item.updated_at}",
                    width="stretch")
        right.button("🗑", key=f"history_delete_{item.id}", on_click=_delete, args=(store, item.id),
                     help="删除 / delete")


def _open(store: HistoryStore, cid: str, role: str, display: Display) -> None:
    if not open_conversation(store, cid, role, display):
        _flash("找不到这段对话 / no such conversation")


def _unpin(store: HistoryStore, pin_id: int) -> None:
    user = username()
    if user is not None:
        try:
            store.unpin(user, pin_id)
        except ChatBIError as exc:
            _flash(exc.message)


def _delete(store: HistoryStore, cid: str) -> None:
    user = username()
    if user is None:
        return
    try:
        store.delete(user, cid)
    except ChatBIError as exc:
        _flash(exc.message)
        return
    if st.session_state.get("conversation_id") == cid:
        forget_current()
    _flash("已删除 / deleted")

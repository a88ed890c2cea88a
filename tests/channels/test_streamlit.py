"""The Streamlit chat app under streamlit.testing.v1.AppTest (real pipeline, tiny warehouse)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatbi.channels.feedback import FeedbackStore

from .conftest import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")
QUESTION = "各大区的GMV"


@pytest.fixture
def app(tiny_db, monkeypatch):
    monkeypatch.setenv("CHATBI_DB", str(tiny_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def assistant_messages(at: AppTest) -> list:
    return [m for m in at.chat_message if m.name == "assistant"]


def test_empty_chat_shows_starter_questions_and_sidebar(app, tiny_pipeline):
    labels = [b.label for b in app.button]
    assert set(tiny_pipeline.starter_questions("zh")[:3]) <= set(labels)
    sidebar_text = " ".join(c.value for c in app.sidebar.caption)
    assert "offline" in sidebar_text
    assert tiny_pipeline.freshness()["latest_order_date"] in sidebar_text
    assert [s.value for s in app.sidebar.selectbox] == ["admin"]


def test_ask_renders_finding_chart_table_and_work(app):
    ask(app, QUESTION)
    [message] = assistant_messages(app)
    assert len(charts(app)) == 1
    assert len(app.dataframe) == 1
    frame = app.dataframe[0].value
    assert {"大区", "GMV"} <= set(frame.columns) and "华东" in set(frame["大区"])  # labelled
    assert any(e.label.startswith("查看SQL与口径") for e in app.expander)
    sql_blocks = [c.value for c in app.code if "SELECT" in c.value.upper()]
    assert sql_blocks
    assert len(app.get("download_button")) == 4  # CSV, Excel, chart PNG and SVG
    assert message.markdown and message.markdown[0].value  # the finding


def test_starter_button_asks(app):
    starter = next(b for b in app.button if b.key and b.key.startswith("starter_"))
    starter.click().run()
    assert not app.exception
    assert len(assistant_messages(app)) == 1
    assert [m for m in app.chat_message if m.name == "user"][0].text[0].value == starter.label
    assert not [b for b in app.button if b.key and b.key.startswith("starter_")]  # gone once chatting


def test_followup_button_asks_in_the_same_conversation(app):
    ask(app, "今天天气怎么样")  # a clarifying answer suggests questions to ask instead
    follow = [b for b in app.button if b.key and b.key.startswith("follow_")]
    assert follow, "the answer suggests follow-ups"
    conversation = app.session_state["conversation"]
    follow[0].click().run()
    assert not app.exception
    assert len(assistant_messages(app)) == 2
    users = [m for m in app.chat_message if m.name == "user"]
    assert users[-1].text[0].value == follow[0].label
    assert app.session_state["conversation"] is conversation


def test_feedback_is_stored_and_promotable(app, tiny_settings):
    store = FeedbackStore.from_settings(tiny_settings)
    before = len(store.list(limit=10_000))
    ask(app, QUESTION)
    up = next(b for b in app.button if b.key and b.key.startswith("up_"))
    up.click().run()
    items = store.list(limit=10_000)
    assert len(items) == before + 1
    newest = items[0]
    assert newest.question == QUESTION and newest.rating == 1 and newest.role == "admin"
    assert newest.answer["semantic_query"]["metrics"] == ["gmv"]
    assert not [b for b in app.button if b.key == up.key]  # rated answers show thanks instead
    # the admin section of the sidebar can promote it into a retrieval example
    promote = app.sidebar.button(key=f"promote_{newest.id}")
    promote.click().run()
    assert any(e["feedback_id"] == newest.id for e in store.examples())


def test_merchant_role_answers_only_its_rows(app, tiny_db):
    import duckdb

    app.sidebar.selectbox(key="role_choice").set_value("merchant").run()
    app.sidebar.number_input(key="merchant_id").set_value(3).run()
    ask(app, "各商户的GMV")
    frame = app.dataframe[0].value
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        [(name,)] = con.execute("SELECT merchant_name FROM merchants WHERE merchant_id = 3").fetchall()
    assert list(frame.columns) == ["商户", "GMV"] and set(frame["商户"]) == {name}  # its own shop, by name
    assert not [b for b in app.sidebar.button if b.key == "rebuild"]  # merchants cannot rebuild
    assert not [e for e in app.sidebar.expander if "admin" in e.label]


def test_sessions_have_their_own_conversation(tiny_db, monkeypatch):
    monkeypatch.setenv("CHATBI_DB", str(tiny_db))
    one, two = AppTest.from_file(APP, default_timeout=120), AppTest.from_file(APP, default_timeout=120)
    one.run()
    two.run()
    ask(one, QUESTION)
    ask(two, QUESTION)
    assert one.session_state["conversation"] is not two.session_state["conversation"]


def test_unanswerable_question_is_a_friendly_warning(app):
    ask(app, "今天天气怎么样")
    assert app.warning and not app.exception
    assert not charts(app)


def test_missing_warehouse_tells_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATBI_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    text = " ".join(e.value for e in at.error) + " ".join(i.value for i in at.info)
    assert "chatbi init --demo" in text and "make run" in text


def test_rebuild_profiles_from_the_sidebar(tiny_db, tmp_path, monkeypatch):
    import os
    import shutil

    copy = tmp_path / "rebuild.duckdb"  # never rebuild the shared fixture in place
    shutil.copyfile(tiny_db, copy)
    inode = os.stat(copy).st_ino
    monkeypatch.setenv("CHATBI_DB", str(copy))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.sidebar.button(key="rebuild").click().run()
    assert not at.exception and not at.sidebar.error
    assert at.sidebar.success and "profiles rebuilt" in at.sidebar.success[0].value
    assert os.stat(copy).st_ino != inode  # the file was replaced atomically
    ask(at, QUESTION)  # the next answer comes from a pipeline on the new file
    assert len(at.dataframe) == 1


def test_campaign_copy_cards(app, tiny_pipeline):
    question = "给流失风险高的女性用户写三条短信文案"
    expected = tiny_pipeline.ask(question).to_dict()
    if not expected["copy"]:
        pytest.skip("the pipeline does not write campaign copy yet")
    ask(app, question)
    texts = [c.value for c in app.code]
    for item in expected["copy"]:
        assert item["text"] in texts  # st.code: one copy button per card
    sizes = " ".join(m.value for m in app.markdown)
    assert f"{expected['copy'][0]['segment_size']:,}" in sizes

"""Issue 19, tested as people use it: in headless Chromium against a real `streamlit run`, a
local account signs in, asks in Chinese, follows up by clicking 按月看, asks in English,
downloads both CSVs, reloads and finds the conversation, and the rendered page (and its
screenshot) speaks business language: no raw column names; Streamlit's Deploy button and
developer menu items (Rerun, Clear cache) are not there.

Streamlit's st.dataframe draws its cells on a canvas (glide-data-grid), so `inner_text` does
not see them; the grid keeps an accessibility table in the DOM (role=columnheader/gridcell,
for the rows on screen, values unformatted), which is where the headers and cells are read.
Formatted, rounded values are checked in the CSV each answer downloads, and the rest of the
answer (finding, chart axes and titles, buttons) in the page's rendered text.
"""

from __future__ import annotations

import csv
import io
import re

from chatbi.channels.accounts import AccountStore
from chatbi.channels.history import HistoryStore

from .conftest import free_port
from .test_browser_signin import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PASSWORD,
    PROMPT,
    TABLE,
    browser,
    pytestmark,
    streamlit,
    warehouse,
)

ZH, FOLLOW, EN = "各大区的GMV", "按月看", "GMV by region"
ANSWER = '[data-testid="stChatMessage"]'
HEADERS = [["大区", "GMV"], ["月份", "大区", "GMV"], ["Region", "GMV"]]  # the three tables, in order
# internal names that must never reach a user (whole words, as the code spells them)
# ("region" and "month" are also English words: the English answer says "by region")
RAW = re.compile(r"\b(gmv|merchant_id|mix_effect|weight_base|entity_type|new_user_conversion_rate|"
                 r"region_channel|None|NaN|nan)\b|\b[a-z]+_[a-z_]+\b|(?<![\w.-])-0(?![\d.,])")


def answered(page, n: int) -> None:
    """Wait until n answers (tables, each with its grid's headers drawn) are on the page and the
    last has its downloads."""
    drawn = (f"n => {{ const t = [...document.querySelectorAll('{TABLE}')];"
             " return t.length >= n && t.every(e => e.querySelector('[role=columnheader]')); }")
    page.wait_for_function(drawn, arg=n, timeout=180_000)
    page.locator(ANSWER).last.get_by_role("button", name=re.compile(r"^(下载|Download) CSV$")).wait_for(timeout=60_000)


def download_csv(page, label: str, target) -> list[list[str]]:
    """Download the last answer's CSV (the button a user clicks) and read it."""
    button = page.locator(ANSWER).last.get_by_role("button", name=label, exact=True)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    info.value.save_as(str(target))
    return list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))


def grid(page, index: int) -> tuple[list[str], list[str]]:
    """Headers and on-screen cells of the index-th answer table (the grid's accessibility table)."""
    table = page.locator(TABLE).nth(index)
    return (table.locator('[role="columnheader"]').all_text_contents(),
            table.locator('[role="gridcell"]').all_text_contents())


def assert_whole_numbers(rows: list[list[str]], column: int) -> None:
    values = [r[column] for r in rows[1:]]
    assert values and all(re.fullmatch(r"-?\d+", v) for v in values), values[:5]  # rounded yuan


ICONS = '[data-testid="stIconMaterial"], [data-testid^="stChatMessageAvatar"]'


def page_text(page) -> str:
    """The rendered text of the page (closed expanders such as the SQL are not rendered) and of
    the charts' svg marks, without Streamlit's icon ligatures (`smart_toy` is drawn as a glyph)."""
    icons = {t.strip() for t in page.locator(ICONS).all_text_contents()}
    text = page.inner_text("body") + "\n" + "\n".join(page.locator("svg.marks").all_text_contents())
    return "\n".join(line for line in text.splitlines() if line.strip() not in icons)


def check_labels(page, tmp_path, name: str) -> str:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    text = page_text(page)
    (ARTIFACTS / f"{name}.txt").write_text(text, encoding="utf-8")
    for i in range(page.locator(TABLE).count()):
        text += "\n" + "\n".join(sum(grid(page, i), []))
    raw = sorted({m.group(0) for m in RAW.finditer(text)})
    assert not raw, f"raw names on the page: {raw} (text in artifacts/{name}.txt)"
    assert "Traceback" not in page.content()
    return text


def test_ask_in_both_languages_follow_up_export_reload(warehouse, browser, tmp_path):  # noqa: F811
    AccountStore(warehouse.parent / "w.app.sqlite").add("lin", "marketer", PASSWORD)
    with streamlit(warehouse, free_port()) as url:
        page = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN",
                                   accept_downloads=True).new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_label("用户名 / user name").fill("lin")
        page.get_by_label("密码 / password").fill(PASSWORD)
        page.get_by_role("button", name="登录 / Sign in", exact=True).click()
        prompt = page.locator(PROMPT)
        prompt.wait_for(timeout=90_000)

        # Chinese question, then the follow-up as a user makes it: the 按月看 button
        prompt.fill(ZH)
        prompt.press("Enter")
        answered(page, 1)
        rows = download_csv(page, "下载 CSV", tmp_path / "answer1.csv")
        assert rows[0] == ["大区", "GMV（元）"] and "华东" in {r[0] for r in rows[1:]}
        assert_whole_numbers(rows, 1)
        page.locator(ANSWER).last.get_by_role("button", name=FOLLOW).click()
        answered(page, 2)
        rows = download_csv(page, "下载 CSV", tmp_path / "answer2.csv")
        assert rows[0] == ["月份", "大区", "GMV（元）"], rows[0]  # the follow-up kept GMV by region, by month
        assert re.fullmatch(r"\d{4}-\d{2}", rows[1][0]) and len(rows) > 20
        assert_whole_numbers(rows, 2)
        said = page.locator(ANSWER).last.inner_text()
        assert "沿用上一问" in said and "按月" in said, said  # read as a follow-up of the last question

        # English question: English labels and region names
        prompt.fill(EN)
        prompt.press("Enter")
        answered(page, 3)
        rows = download_csv(page, "Download CSV", tmp_path / "answer3.csv")
        assert rows[0] == ["Region", "GMV (¥)"] and "East China" in {r[0] for r in rows[1:]}
        assert not any("华" in r[0] for r in rows[1:])
        assert_whole_numbers(rows, 1)
        last = page.locator(ANSWER).last.inner_text()
        assert "East China" in last and "华东" not in last
        text = check_labels(page, tmp_path, "product_before_reload")
        assert [grid(page, i)[0] for i in range(3)] == HEADERS
        assert "华东" in grid(page, 0)[1] and "East China" in grid(page, 2)[1]
        assert "大区" in text and "Region" in text

        # a reload keeps the conversation, listed in the history, still labelled
        page.wait_for_function("() => location.search.includes('c=')", timeout=30_000)
        page.reload(wait_until="domcontentloaded")
        page.locator(PROMPT).wait_for(timeout=90_000)
        answered(page, 3)
        page.locator('[data-testid="stSidebar"]').get_by_role("button", name=ZH).wait_for(timeout=30_000)
        check_labels(page, tmp_path, "product_after_reload")
        assert [grid(page, i)[0] for i in range(3)] == HEADERS

        # users see the app, not Streamlit's tools: no Deploy button, no developer menu items
        assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
        page.locator('[data-testid="stMainMenu"]').click()
        items = page.locator('[data-testid="stMainMenuItemLabel"]')
        items.first.wait_for(timeout=10_000)
        assert not {"Rerun", "Clear cache"} & set(items.all_text_contents()), items.all_text_contents()
        page.context.close()
    history = HistoryStore(warehouse.parent / "w.app.sqlite")
    [conversation] = history.conversations("lin")
    turns = history.turns("lin", conversation.id)
    assert [t.question for t in turns] == [ZH, FOLLOW, EN]

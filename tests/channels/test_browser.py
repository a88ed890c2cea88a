"""End to end: `streamlit run streamlit_app.py` driven by a real headless Chromium (playwright)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import REPO_ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "artifacts"
CHART = ('[data-testid="stVegaLiteChart"] svg.marks, [data-testid="stVegaLiteChart"] canvas, '
         '.vega-embed svg.marks, .vega-embed canvas')

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: apt-get install -y chromium fonts-wqy-microhei"),
]


@pytest.fixture
def streamlit_server(tiny_db):
    port = free_port()
    env = {**os.environ, "CHATBI_DB": str(tiny_db), "CHATBI_PLANNER": "offline", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("OPENAI_API_KEY", None)
    log = ARTIFACTS / "streamlit_e2e.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "streamlit_app.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited early; see {log}")
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            else:
                pytest.fail(f"streamlit did not become healthy; see {log}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_ask_in_a_real_browser(streamlit_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300}, locale="zh-CN")
            page.goto(streamlit_server, wait_until="domcontentloaded")
            prompt = page.locator('[data-testid="stChatInputTextArea"]')
            prompt.wait_for(timeout=90_000)
            prompt.fill("各大区的GMV")
            prompt.press("Enter")
            chart = page.wait_for_selector(CHART, timeout=120_000)
            box = chart.bounding_box()
            assert box and box["height"] > 180, f"chart squashed: {box}"  # keeps its designed height
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
            assert page.get_by_text("查看SQL与口径").count() >= 1
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "streamlit_chat.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert "Traceback" not in page.content()
        finally:
            browser.close()

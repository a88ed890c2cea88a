"""Under load: 16 concurrent clients on the real uvicorn server, and Streamlit sessions.

The soak runs ``CHATBI_SOAK_SECONDS`` (default 60) of 16 clients on 127.0.0.1, each with
its own session and follow-up chain (各大区的GMV → 那只看<region>呢 → 只看<gender>性). Every
answer must equal the answer computed once, directly and sequentially, for that chain: no
error, no cross-talk between sessions' follow-ups.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from streamlit.testing.v1 import AppTest

from chatbi.channels.api import create_app
from tests.channels.conftest import free_port

from .conftest import REPO_ROOT
from .rows import same_rows

CLIENTS = 16
SOAK_SECONDS = float(os.environ.get("CHATBI_SOAK_SECONDS", "60"))
GENDERS = ("女", "男")


def chain_for(client: int, regions: list[str]) -> tuple[str, str, str]:
    region = regions[client % len(regions)]
    return ("各大区的GMV", f"那只看{region}呢", f"只看{GENDERS[client % 2]}性")


@pytest.fixture(scope="module")
def live_server(tiny_settings, tiny_pipeline) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 (local mode: loopback clients, admin)."""
    port = free_port()
    settings = dataclasses.replace(tiny_settings, api_keys={})
    config = uvicorn.Config(create_app(settings, pipeline=tiny_pipeline), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off", limit_concurrency=200)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def expected(tiny_pipeline) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Each distinct chain answered once, sequentially, in its own conversation."""
    regions = tiny_pipeline.dimension_values()["region"]
    assert len(regions) >= 4
    out = {}
    for client in range(CLIENTS):
        chain = chain_for(client, regions)
        if chain in out:
            continue
        conversation = tiny_pipeline.new_conversation()
        answers = [tiny_pipeline.ask(q, conversation=conversation).to_dict() for q in chain]
        for answer in answers:
            assert answer["error"] is None and answer["rows"], answer
        out[chain] = [{"rows": a["rows"], "filters": a["semantic_query"]["filters"]} for a in answers]
    return out


def run_client(base_url: str, client: int, chain: tuple[str, ...], want: list[dict[str, Any]],
               deadline: float, stats: dict[str, Any], lock: threading.Lock) -> None:
    session_id = f"soak-client-{client}"
    done = 0
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while True:  # at least one chain, then more until the deadline
                for step, question in enumerate(chain):
                    started = time.perf_counter()
                    response = http.post("/ask", json={"question": question, "session_id": session_id})
                    elapsed = time.perf_counter() - started
                    problem = None
                    if response.status_code != 200:
                        problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    else:
                        data = response.json()
                        filters = (data.get("semantic_query") or {}).get("filters")
                        if data["error"] is not None:
                            problem = f"error {data['error']}"
                        elif data["session_id"] != session_id:
                            problem = f"session {data['session_id']}"
                        elif filters != want[step]["filters"]:
                            problem = f"filters {filters} != {want[step]['filters']}"
                        elif not same_rows(data["rows"], want[step]["rows"]):
                            problem = f"rows {data['rows'][:3]} != {want[step]['rows'][:3]}"
                    with lock:
                        stats["requests"] += 1
                        stats["latencies"].append(elapsed)
                        if problem:
                            stats["problems"].append(f"client {client} step {step} ({question}): {problem}")
                    if problem:
                        return
                done += 1
                if time.monotonic() >= deadline:
                    break
    except Exception as exc:  # a transport error is a failure too
        with lock:
            stats["problems"].append(f"client {client}: {type(exc).__name__}: {exc}")
    finally:
        with lock:
            stats["chains"][client] = done


@pytest.mark.slow
def test_sixteen_clients_soak(live_server, expected, tiny_pipeline, record_property) -> None:
    regions = tiny_pipeline.dimension_values()["region"]
    stats: dict[str, Any] = {"requests": 0, "latencies": [], "problems": [], "chains": {}}
    lock = threading.Lock()
    deadline = time.monotonic() + SOAK_SECONDS
    threads = [
        threading.Thread(target=run_client, args=(live_server, i, chain_for(i, regions),
                                                  expected[chain_for(i, regions)], deadline, stats, lock))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SOAK_SECONDS + 120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert not stats["problems"], stats["problems"][:10]
    assert len(stats["chains"]) == CLIENTS and min(stats["chains"].values()) >= 1, stats["chains"]
    latencies = sorted(stats["latencies"])
    record_property("soak", {"seconds": SOAK_SECONDS, "requests": stats["requests"],
                             "p50_s": round(latencies[len(latencies) // 2], 3),
                             "max_s": round(latencies[-1], 3)})
    assert stats["requests"] >= CLIENTS * 3
    assert latencies[int(0.95 * (len(latencies) - 1))] < 30, "p95 latency over 30 s"


def test_concurrent_sessions_do_not_share_follow_ups(live_server, expected, tiny_pipeline) -> None:
    """A short burst (not slow): 16 clients run their chain once, all at the same time."""
    regions = tiny_pipeline.dimension_values()["region"]
    stats: dict[str, Any] = {"requests": 0, "latencies": [], "problems": [], "chains": {}}
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def one(i: int) -> None:
        barrier.wait()
        chain = chain_for(i, regions)
        run_client(live_server, 100 + i, chain, expected[chain], time.monotonic(), stats, lock)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not stats["problems"], stats["problems"][:10]
    assert stats["requests"] == CLIENTS * 3


# ---------------------------------------------------------------------------- Streamlit

APP = str(REPO_ROOT / "streamlit_app.py")


def ask(at: AppTest, question: str) -> None:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception


def test_streamlit_sessions_keep_their_own_follow_ups(tiny_db, tiny_pipeline, monkeypatch) -> None:
    monkeypatch.setenv("CHATBI_DB", str(tiny_db))
    one, two = AppTest.from_file(APP, default_timeout=120), AppTest.from_file(APP, default_timeout=120)
    one.run()
    two.run()
    ask(one, "各大区的GMV")
    ask(two, "各渠道的GMV")
    ask(one, "那只看华南呢")  # interleaved: each follow-up refines its own session's question
    ask(two, "只看女性")
    want_one = tiny_pipeline.new_conversation()
    want_two = tiny_pipeline.new_conversation()
    tiny_pipeline.ask("各大区的GMV", conversation=want_one)
    tiny_pipeline.ask("各渠道的GMV", conversation=want_two)
    expected_one = tiny_pipeline.ask("那只看华南呢", conversation=want_one).to_dict()
    expected_two = tiny_pipeline.ask("只看女性", conversation=want_two).to_dict()
    frame_one, frame_two = one.dataframe[-1].value, two.dataframe[-1].value
    # the web table shows the labelled table (headers from the semantic layer, rounded values)
    assert [c.strip() for c in frame_one.columns] == expected_one["table"]["headers"]
    assert [c.strip() for c in frame_two.columns] == expected_two["table"]["headers"]
    assert "渠道" in frame_two.columns and "渠道" not in frame_one.columns
    assert same_rows(frame_one.values.tolist(), expected_one["table"]["values"])
    assert same_rows(frame_two.values.tolist(), expected_two["table"]["values"])
    assert one.session_state["conversation"] is not two.session_state["conversation"]
    assert len(one.session_state["conversation"]) == len(two.session_state["conversation"]) == 2

"""Answers per second from the HTTP API with 1, 4 and 16 concurrent clients on loopback.

A real ``chatbi serve`` (uvicorn) runs on 127.0.0.1 in a child process over the cached
warehouse (offline planner, local mode). After one warm-up request, each level starts N
client threads that send typical questions (``POST /ask``) one after another; every loop is
bounded in requests and in time. Errors are non-200 responses and failed connections.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import ROOT, Context, Goal, Section, fmt_ms, percentile

LEVELS = (1, 4, 16)
QUESTIONS = ("各大区的GMV", "今年按月的GMV趋势", "上个季度GMV最高的10个商户", "各渠道GMV占比",
             "上个季度各大区GMV环比增长", "高价值用户有多少？", "GMV by region", "各品类的订单数")
REQUESTS_PER_LEVEL, LEVEL_TIME_LIMIT_S = 48, 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    """``chatbi serve`` on a free loopback port; waits until /health answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATBI_"))}
    env.update(ANONYMIZED_TELEMETRY="False", CHATBI_PLANNER="offline")
    cmd = [str(Path(sys.executable).parent / "chatbi"), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--db", str(db)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=30).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    stop_server(proc)
    raise RuntimeError("chatbi serve did not become healthy within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load_level(url: str, clients: int, per_client: int) -> dict:
    """``clients`` threads, each asking ``per_client`` questions (or until the time limit)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + LEVEL_TIME_LIMIT_S

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for i in range(per_client):
                if time.monotonic() > deadline:
                    return
                question = QUESTIONS[(index + i) % len(QUESTIONS)]
                start = time.perf_counter()
                try:
                    r = http.post("/ask", json={"question": question})
                    error = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
                    if error:
                        errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    done = len(latencies) - len(errors)
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "wall_s": wall,
            "per_s": done / wall, "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95)}


def run(ctx: Context) -> Section:
    scale = ctx.primary
    section = Section("concurrency", f"HTTP API under concurrent clients ({scale})")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    total = ctx.max_requests or (8 if ctx.quick else REQUESTS_PER_LEVEL)
    proc, url = start_server(ctx.warehouse(scale))
    try:
        httpx.post(f"{url}/ask", json={"question": QUESTIONS[0]}, timeout=120)  # opens the pipeline
        results = []
        for clients in LEVELS:
            ctx.log(f"  concurrency {scale}: {clients} clients")
            results.append(load_level(url, clients, max(1, total // clients)))
    finally:
        stop_server(proc)
    section.header = ["clients", "requests", "answers/s", "p50 latency", "p95 latency", "errors"]
    for r in results:
        section.rows.append([str(r["clients"]), str(r["requests"]), f"{r['per_s']:.1f}", fmt_ms(r["p50_ms"]),
                             fmt_ms(r["p95_ms"]), str(r["errors"])])
    section.notes.append(f"Questions cycled: {', '.join(QUESTIONS)}. {total} requests per level "
                         f"(at least one per client), at most {LEVEL_TIME_LIMIT_S:.0f} s per level.")
    section.data = {"levels": results}
    errors = sum(r["errors"] for r in results)
    section.goals = [Goal(f"HTTP API: zero errors at 1/4/16 clients ({scale})", "0 errors", str(errors), errors == 0)]
    return section

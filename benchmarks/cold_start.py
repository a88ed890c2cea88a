"""Cold start: a fresh ``chatbi ask "各大区的GMV" --json --db X`` process, launch to answer.

Measured twice: with the offline planner (the default without an API key), and with the
LLM planner against the scripted local server (tests/llm/fake_openai.py), which also opens
the retrieval index beside the warehouse and loads the embedding model and the SDK.
The time runs from launching the process until it has printed the answer and exited.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT, Context, Goal, Section, fmt_s
from tests.llm.fake_openai import FakeOpenAI, tool_reply

QUESTION = "各大区的GMV"
GOAL_S = 5.0
LLM_GOAL_S = 2.0  # issue 20: the LLM planner's cold start


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATBI_"))}
    env.update(ANONYMIZED_TELEMETRY="False", **extra)
    return env


def ask_once(db: Path, env: dict[str, str]) -> tuple[float, dict]:
    """Seconds from launch to exit, and the answer JSON."""
    cmd = [str(Path(sys.executable).parent / "chatbi"), "ask", QUESTION, "--json", "--db", str(db)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"chatbi ask failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def import_profile(db: Path, env: dict[str, str], n: int = 6) -> str:
    """The packages whose import took longest in one cold run (``python -X importtime``)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "chatbi.channels.cli", "ask", QUESTION, "--json",
           "--db", str(db)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    total, packages = 0.0, {}
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name, seconds = parts[2].rstrip(), int(parts[1]) / 1e6
        if not name.startswith("  "):  # a top-level import of the run
            total += seconds
        package = name.strip()
        if "." not in package and package not in ("chatbi", "site", "encodings"):
            packages[package] = max(packages.get(package, 0.0), seconds)
    top = sorted(packages.items(), key=lambda kv: -kv[1])[:n]
    return (f"imports took {total:.1f} s of the run; largest packages (cumulative, may nest): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in top))


def measure(ctx: Context, scale: str) -> dict:
    db = ctx.warehouse(scale)
    reps = ctx.repeats(scale)
    out = {}
    offline = [ask_once(db, _env(CHATBI_PLANNER="offline")) for _ in range(reps)]
    out["offline"] = (statistics.median(s for s, _ in offline), offline[-1][1].get("planner"))
    fake = FakeOpenAI().start()
    try:
        env = _env(CHATBI_PLANNER="llm", OPENAI_API_KEY="bench-key", OPENAI_BASE_URL=fake.base_url,
                   CHATBI_MODEL="fake-model")
        llm = []
        for _ in range(reps):
            fake.reset()
            fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]}))
            llm.append(ask_once(db, env))
        out["llm"] = (statistics.median(s for s, _ in llm), llm[-1][1].get("planner"))
        if ctx.diagnose and out["llm"][0] > LLM_GOAL_S:
            fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]}))
            out["llm_imports"] = import_profile(db, env)
    finally:
        fake.stop()
    if ctx.diagnose and out["offline"][0] > GOAL_S:
        out["offline_imports"] = import_profile(db, _env(CHATBI_PLANNER="offline"))
    out["reps"] = reps
    return out


def run(ctx: Context) -> Section:
    section = Section("cold_start", "Cold start: new process to first answer")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    section.header = ["scale", "offline planner", "LLM planner (scripted server, index + embedding model)"]
    results = {}
    for scale in ctx.heavy:
        ctx.log(f"  cold start {scale}")
        m = measure(ctx, scale)
        results[scale] = m
        section.rows.append([scale, f"{fmt_s(m['offline'][0])} (median of {m['reps']})",
                             f"{fmt_s(m['llm'][0])} (answered by: {m['llm'][1]})"])
    section.data = results
    at = "medium" if "medium" in results else next(iter(results))
    m = results[at]
    section.goals = [
        Goal(f"cold start, offline planner ({at})", f"≤ {GOAL_S:.0f} s", fmt_s(m["offline"][0]),
             m["offline"][0] <= GOAL_S),
        Goal(f"cold start, LLM planner with index ({at})", f"≤ {LLM_GOAL_S:.0f} s", fmt_s(m["llm"][0]),
             m["llm"][0] <= LLM_GOAL_S and m["llm"][1] == "llm"),
    ]
    for g, key in zip(section.goals, ("offline_imports", "llm_imports"), strict=True):
        if g.passed is False:
            g.limit = m.get(key) or "the answer did not come from the LLM planner"
    return section

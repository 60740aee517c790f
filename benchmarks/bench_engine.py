"""Engine benchmark: messages/s and per-message latency in-process, SQLite state, where the time goes.

Run on one core:  taskset -c 0 .venv/bin/python -m benchmarks.bench_engine [--chats 200] [--turns 6]
Target (conversation issue): >= 1,000 messages/s in-process on one core with SQLite state.

A private workspace (``benchmarks.common.workspace``, a temp folder) gets a freshly trained NLU model and a SQLite copy of the seeded
knowledge base; the engine is the one :func:`bot.app.bootstrap.bootstrap` builds. Each of ``--chats``
REST conversations says ``--turns`` things, the chats interleaved round-robin so consecutive messages
belong to different conversations (the state is really loaded and saved, never cached). What a citizen
says next depends on the bot's last reply:

* a held-out NLU message (``tests/data/nlu_heldout.yml``: questions about procedures, small talk, out of
  scope, dossier codes);
* a follow-up without the procedure ("lệ phí bao nhiêu", "nộp ở đâu", "xem thêm" ...);
* a tap on one of the last reply's buttons (its payload), or its number typed ("1", "2").

Timers around the store, the interpreter, the knowledge repository and every action split a turn into
NLU parse / state load / state save / message log / actions (knowledge reads counted apart) / the rest
(policy, rendering, thread hand-offs). ``--profile`` adds a cProfile listing of the top functions.

The engine is measured twice: as served (blocking calls offloaded with ``asyncio.to_thread``) and with
the blocking calls run inline, which shows what the thread hand-offs cost.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import cProfile
import functools
import io
import logging
import pstats
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from benchmarks.common import ROOT, median_run, summary, workspace, write_result

HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.yml"

FOLLOW_UPS = (
    "lệ phí bao nhiêu",
    "le phi bao nhieu vay",
    "mất bao lâu thì có kết quả",
    "nộp ở đâu",
    "cần giấy tờ gì",
    "các bước làm thế nào",
    "có nộp online được không",
    "mẫu đơn ở đâu",
    "xem thêm",
    "cảm ơn",
)
"""Follow-ups that rely on the procedure carried over from the previous turn."""


def heldout_texts() -> list[str]:
    """The 445 held-out citizen messages."""
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    return [e["text"] for e in data["examples"]]


# ----------------------------------------------------------------------------------------- timers


class Clock:
    """Accumulated seconds per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.calls[stage] += 1

        return timed

    def wrap_async(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start
                self.calls[stage] += 1

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


class _Proxy:
    """Forwards every attribute to ``target``, with some methods replaced by timed ones."""

    def __init__(self, target: Any, **replaced: Callable[..., Any]) -> None:
        self._target = target
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class ReplayInterpreter:
    """The real interpreter's parse of each text, computed once: takes the NLU out of the figure."""

    def __init__(self, interpreter: Any, texts: list[str]) -> None:
        self._parses = {t: interpreter.parse(t) for t in texts}
        self._interpreter = interpreter

    def parse(self, text: str) -> dict[str, Any]:
        found = self._parses.get(text)
        return copy.deepcopy(found) if found is not None else self._interpreter.parse(text)


class CachedKnowledge:
    """What-if: ``get`` memoised (procedures change only on import), everything else forwarded."""

    def __init__(self, knowledge: Any) -> None:
        self._knowledge = knowledge
        self.get = functools.lru_cache(maxsize=None)(knowledge.get)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._knowledge, name)


@dataclass(frozen=True)
class Variant:
    """How the engine is assembled for one measurement."""

    name: str
    inline: bool = False  # blocking calls run inline instead of through asyncio.to_thread
    replay_nlu: bool = False  # parses precomputed (ReplayInterpreter)
    cache_knowledge: bool = False  # knowledge.get memoised (CachedKnowledge)
    parse_cache: bool = True  # the NLU remembers recent parses (nlu/pipeline.py PARSE_CACHE_SIZE)
    description: str = ""


VARIANTS = (
    Variant(
        "served",
        description="as served: real NLU (parse cache on), catalogue snapshot, SQLite state, to_thread offload",
    ),
    Variant(
        "served_no_parse_cache",
        parse_cache=False,
        description="as served, but every message parsed afresh (no repeated texts)",
    ),
    Variant("inline", inline=True, description="as served, blocking calls run inline (no thread hand-off)"),
    Variant(
        "inline_no_nlu",
        inline=True,
        replay_nlu=True,
        description="engine + SQLite state alone: parses precomputed",
    ),
)


def instrumented_engine(settings: Any, clock: Clock, variant: Variant, texts: list[str]) -> Any:
    """The container's engine with timers around store, interpreter, knowledge and actions."""
    from actions.registry import ActionDeps, build_actions
    from bot.app.bootstrap import bootstrap
    from bot.engine.engine import Engine

    container = bootstrap(settings)
    container.prepare()
    store = container.adapters.conversations
    timed_store = _Proxy(
        store,
        load=clock.wrap("state_load", store.load),
        save=clock.wrap("state_save", store.save),
        log=clock.wrap("message_log", store.log),
    )
    nlu: Any = container.interpreter
    if not variant.parse_cache:
        nlu.cache_size = 0
    if variant.replay_nlu:
        nlu = ReplayInterpreter(nlu, [*texts, *FOLLOW_UPS])
    timed_nlu = _Proxy(nlu, parse=clock.wrap("nlu_parse", nlu.parse))
    kb: Any = CachedKnowledge(container.knowledge) if variant.cache_knowledge else container.knowledge
    timed_kb = _Proxy(kb, **{m: clock.wrap("knowledge_reads", getattr(kb, m)) for m in ("get", "list_faqs")})
    actions = build_actions(ActionDeps(timed_kb))  # the actions read procedures through the timers too
    for action in actions.values():
        action.run = clock.wrap_async("actions_incl_knowledge", action.run)  # type: ignore[method-assign]

    async def run_inline(fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    return Engine(
        timed_nlu,
        timed_kb,
        timed_store,
        container.responses,
        actions=actions,
        offload=run_inline if variant.inline else None,
    )


# --------------------------------------------------------------------------------------- the load


class Citizen:
    """One chat: picks what to say next from the bot's last reply."""

    def __init__(self, chat_id: str, rng: random.Random, texts: list[str]) -> None:
        self.chat_id = chat_id
        self.rng = rng
        self.texts = texts
        self.buttons: list[str] = []  # payloads of the last reply's buttons (not "Gặp cán bộ")

    def next_text(self, turn: int) -> tuple[str, str]:
        """What to say next and its kind: ``question``, ``follow_up``, ``button`` or ``number``."""
        roll = self.rng.random()
        if turn == 0:
            return self.rng.choice(self.texts), "question"
        if self.buttons and roll < 0.30:
            return self.rng.choice(self.buttons), "button"
        if self.buttons and roll < 0.40:
            return str(self.rng.randint(1, min(3, len(self.buttons)))), "number"
        if roll < 0.70:
            return self.rng.choice(FOLLOW_UPS), "follow_up"
        return self.rng.choice(self.texts), "question"

    def heard(self, replies: list[Any]) -> None:
        payloads = [b.payload for r in replies for b in r.buttons if b.payload != "/request_human"]
        if replies:
            self.buttons = payloads


async def drive(
    engine: Any, texts: list[str], chats: int, turns: int, tag: str, seed: int = 11
) -> dict[str, Any]:
    """Every chat says ``turns`` things, round-robin; one message at a time, each timed."""
    from bot.core.messages import ConversationKey, InboundMessage

    rng = random.Random(seed)
    citizens = [Citizen(f"{tag}-{i}", rng, texts) for i in range(chats)]
    latencies: list[float] = []
    sources: dict[str, int] = defaultdict(int)
    replies_total = 0
    start = time.perf_counter()
    for turn in range(turns):
        for c in citizens:
            text, kind = c.next_text(turn)
            sources[kind] += 1
            msg = InboundMessage(key=ConversationKey("rest", c.chat_id), text=text, is_button=text[:1] == "/")
            t0 = time.perf_counter()
            replies = await engine.handle(msg)
            latencies.append((time.perf_counter() - t0) * 1000)
            replies_total += len(replies)
            c.heard(replies)
    elapsed = time.perf_counter() - start
    return {
        "messages": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "latency": summary(latencies),
        "replies": replies_total,
        "mix": dict(sources),
    }


def split(clock: Clock, elapsed_s: float, messages: int) -> dict[str, Any]:
    """Per-stage milliseconds per message and share of the wall time."""
    out: dict[str, Any] = {}
    counted = 0.0
    for stage in ("nlu_parse", "state_load", "state_save", "message_log", "actions_incl_knowledge"):
        sec = clock.seconds.get(stage, 0.0)
        counted += sec
        out[stage] = {
            "ms_per_message": round(sec * 1000 / messages, 3),
            "share": round(sec / elapsed_s, 3),
            "calls": clock.calls.get(stage, 0),
        }
    kb = clock.seconds.get("knowledge_reads", 0.0)
    out["knowledge_reads_within_actions"] = {
        "ms_per_message": round(kb * 1000 / messages, 3),
        "share": round(kb / elapsed_s, 3),
        "calls": clock.calls.get("knowledge_reads", 0),
    }
    rest = max(0.0, elapsed_s - counted)
    out["rest_policy_render_handoffs"] = {
        "ms_per_message": round(rest * 1000 / messages, 3),
        "share": round(rest / elapsed_s, 3),
    }
    return out


def profile_top(engine: Any, texts: list[str], chats: int, turns: int, limit: int = 30) -> str:
    """cProfile of one pass, top functions by own time."""
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(drive(engine, texts, chats, turns, tag="profile", seed=5))
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(limit)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="measured passes per engine variant")
    parser.add_argument("--profile", action="store_true", help="print a cProfile listing as well")
    parser.add_argument("--reuse-model", action="store_true", help="use var/models instead of training")
    args = parser.parse_args()
    # Escalations without an event sink warn once per officer request; not what is measured here.
    logging.getLogger("bot.engine.engine").setLevel(logging.ERROR)

    texts = heldout_texts()
    result: dict[str, Any] = {"chats": args.chats, "turns_per_chat": args.turns, "repeats": args.repeats}
    with workspace(train_model=not args.reuse_model) as (settings, timings):
        result["setup"] = timings
        for variant in VARIANTS:
            clock = Clock()
            engine = instrumented_engine(settings, clock, variant, texts)
            asyncio.run(drive(engine, texts, args.chats, 2, tag=f"warm-{variant.name}"))
            runs = []
            for r in range(args.repeats):
                clock.reset()
                run = asyncio.run(
                    drive(engine, texts, args.chats, args.turns, tag=f"{variant.name}-{r}", seed=11 + r)
                )
                run["split"] = split(clock, run["elapsed_s"], run["messages"])
                runs.append(run)
                lat = run["latency"]
                print(
                    f"{variant.name} pass {r}: {run['messages_per_s']} msg/s,"
                    f" p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms",
                    flush=True,
                )
            rates = [x["messages_per_s"] for x in runs]
            median = median_run(runs, rates)
            result[variant.name] = {
                "description": variant.description,
                "messages_per_s_median": median["messages_per_s"],
                "messages_per_s_all": rates,
                "median_run": median,
            }
            if args.profile and variant.name == "inline":
                print(profile_top(engine, texts, args.chats // 2, args.turns))
    result["target_messages_per_s"] = 1000
    path = write_result("engine", result)
    print(yaml.safe_dump(result, allow_unicode=True, sort_keys=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()

"""The ``helpline`` command: one entry point for the whole project."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.app.bootstrap import App, bootstrap
from bot.core.redact import install_log_redaction
from bot.core.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from knowledge.search import SearchIndex
    from nlu.cli import NluCommand


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group that is installed."""
    parser = argparse.ArgumentParser(prog="helpline", description="Tổng đài hỗ trợ thủ tục hành chính")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    from knowledge import cli as kb_cli

    kb_cli.add_parser(sub)
    from console import cli as console_cli

    console_cli.add_parser(sub)
    try:
        from nlu import cli as nlu_cli
    except ImportError:  # pragma: no cover - NLU package not installed yet
        pass
    else:
        nlu_cli.add_parser(sub, bind=_with_nlu_files)
    from bot.app import evaluation, rasa_export

    evaluation.add_parser(sub)
    rasa_export.add_parser(sub)

    p = sub.add_parser("serve", help="chạy máy chủ: web chat, REST, Telegram/Zalo khi có cấu hình")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="số tiến trình phục vụ (mặc định HELPLINE_WORKERS hoặc 1; hơn 1 cần PostgreSQL)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("chat", help="trò chuyện với trợ lý ngay trong cửa sổ dòng lệnh")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("purge", help="xoá dữ liệu cá nhân quá thời hạn lưu (mục privacy: của config.yml)")
    p.add_argument("--dry-run", action="store_true", help="chỉ đếm, không xoá")
    p.add_argument(
        "--remask", action="store_true", help="che lại số CCCD, số điện thoại trong các tin đã lưu từ trước"
    )
    p.set_defaults(func=cmd_purge)
    return parser


def _with_nlu_files(command: NluCommand) -> Callable[[argparse.Namespace, App], int]:
    """An ``nlu`` command run on the settings' files, with the knowledge base's search index (the
    database migrated and seeded first) for the commands that parse."""
    from nlu.cli import NluFiles

    def run(args: argparse.Namespace, container: App) -> int:
        def index() -> SearchIndex:
            container.migrate()
            container.seed_if_empty()
            return container.search.current

        s = container.settings
        return command(args, NluFiles(s.config_path, s.data_dir / "nlu.yml", s.model_dir, index))

    return run


def starting_message(model_dir: Path) -> str:
    """What ``serve`` says while it prepares: the first start (no NLU model yet, so it trains one and
    loads the knowledge base) warns that it takes a while; later starts only say they are starting."""
    if (model_dir / "latest").exists():
        return "Đang khởi động trợ lý..."
    return "Đang chuẩn bị cơ sở dữ liệu và mô hình NLU (lần đầu có thể mất khoảng một phút)..."


def cmd_serve(args: argparse.Namespace, container: App) -> int:
    """Start the server (uvicorn) with everything the settings enable."""
    import uvicorn

    from bot.app.server import create_app

    workers = args.workers if args.workers is not None else container.settings.workers
    if workers != 1:
        return serve_workers(args, container, workers)
    print(starting_message(container.settings.model_dir), flush=True)
    app = create_app(container)
    host = args.host or container.settings.host
    port = args.port or container.settings.port
    print(f"Trợ lý đã sẵn sàng: http://{host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS)
    return 0


GRACE_SECONDS = 30
"""How long a stopping server waits for requests in progress (SIGTERM: the turns finish, nothing new)."""
STARTUP_SECONDS = 180
"""How long a worker of ``serve --workers`` may take to start before uvicorn counts it as hung."""


def serve_workers(args: argparse.Namespace, container: App, workers: int) -> int:
    """``serve --workers N``: N uvicorn worker processes on one socket, each a whole server
    (:func:`bot.app.server.worker_app`) on the same PostgreSQL, coordinated by its advisory locks and
    LISTEN/NOTIFY (:mod:`bot.storage.coordination`). The schema, the seed and a first NLU model are
    made here once, before the workers start."""

    import uvicorn
    from sqlalchemy.engine import make_url

    settings = container.settings
    if not 1 <= workers <= 64:
        print("Số tiến trình (--workers) phải từ 1 đến 64.", file=sys.stderr)
        return 2
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        print(
            "SQLite chỉ phục vụ được một tiến trình: muốn chạy --workers lớn hơn 1, hãy dùng PostgreSQL "
            "(đặt HELPLINE_DATABASE_URL=postgresql://...). Xem docs/deployment.md.",
            file=sys.stderr,
        )
        return 2
    # Workers share the session secret through Settings.resolved_session_secret (the environment, or
    # state_dir/session_secret made once), so a login made on one works on all and survives a restart.
    print(starting_message(settings.model_dir), flush=True)
    container.prepare_once()
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Trợ lý chạy {workers} tiến trình: http://{host}:{port}/", flush=True)
    uvicorn.run(
        "bot.app.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=GRACE_SECONDS,
        # A worker prepares (catalogue, search index, model) before it serves: a minute under load.
        # uvicorn's default 5 s would kill it as hung, and SIGHUP's rolling restart would give up on it.
        timeout_worker_healthcheck=STARTUP_SECONDS,
    )
    return 0


def cmd_purge(args: argparse.Namespace, container: App) -> int:
    """Delete what is older than config.yml's ``privacy:`` allows (the server's daily job does the same)."""
    container.migrate()
    if getattr(args, "remask", False):  # texts stored before the masking knew their spelling
        print(container.retention.remask(dry_run=args.dry_run).summary())
    print(container.retention.purge(dry_run=args.dry_run).summary())
    return 0


def cmd_chat(args: argparse.Namespace, container: App) -> int:
    """Talk to the bot in a terminal; buttons are shown numbered and a number chooses one."""
    import asyncio

    from bot.channels.terminal import run_console

    # The terminal is the citizen's screen: errors go to a log file, never onto it.
    log_file = container.settings.model_dir.parent / "helpline.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.FileHandler(log_file, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    container.prepare()
    return asyncio.run(run_console(container.engine.handle, sys.stdin, sys.stdout))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad settings or input end with a clear message and a non-zero status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()  # every log record masked: ID and phone numbers never in full
    # httpx logs whole request URLs at INFO, and Telegram / Zalo Bot put the token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # PTB 22 warns on every RetryAfter unless timedelta mode is chosen; we read both forms.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        container = bootstrap(Settings())
    except ValueError as exc:
        print(f"Cấu hình không hợp lệ: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, container) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

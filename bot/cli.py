"""The ``helpline`` command: one entry point for the whole project."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.bootstrap import Container
from bot.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group that is installed."""
    parser = argparse.ArgumentParser(prog="helpline", description="Tổng đài hỗ trợ thủ tục hành chính")
    parser.add_argument("-v", "--verbose", action="store_true", help="ghi log chi tiết")
    sub = parser.add_subparsers(dest="command", required=True)
    from knowledge import cli as kb_cli

    kb_cli.add_parser(sub)
    try:
        from nlu import cli as nlu_cli
    except ImportError:  # pragma: no cover - NLU package not installed yet
        nlu_cli = None
    if nlu_cli is not None:
        nlu_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad settings or input end with a clear message and a non-zero status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        container = Container(settings=Settings())
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

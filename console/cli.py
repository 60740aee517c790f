"""``helpline user ...``: console accounts from the command line.

``helpline user add USERNAME --role officer [--name "Nguyễn Văn A"]`` asks for the password twice, or
reads one line from standard input with ``--password-stdin`` (for scripts).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Protocol

from console.auth.users import ROLES, UserExistsError, UserService


class AccountsContext(Protocol):
    """What the ``user`` commands need from the running application (the composition root's app)."""

    @property
    def users(self) -> UserService: ...

    def migrate(self) -> None: ...


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``user add`` and ``user disable`` on the ``helpline`` command."""
    user = sub.add_parser("user", help="quản lý tài khoản cán bộ của hộp thư")
    user_sub = user.add_subparsers(dest="user_command", required=True)

    p = user_sub.add_parser("add", help="tạo tài khoản")
    p.add_argument("username", help="tên đăng nhập")
    p.add_argument("--role", choices=ROLES, default="officer", help="vai trò (mặc định: officer)")
    p.add_argument("--name", default="", help='tên hiển thị, ví dụ "Nguyễn Văn A"')
    p.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ đầu vào chuẩn")
    p.set_defaults(func=cmd_user_add)

    p = user_sub.add_parser("disable", help="khoá tài khoản")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_disable)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        print("Hai lần nhập mật khẩu không khớp.", file=sys.stderr)
        return None
    return first


def cmd_user_add(args: argparse.Namespace, container: AccountsContext) -> int:
    """Create a console account."""
    password = _password(args)
    if password is None:
        return 1
    container.migrate()
    try:
        user = container.users.add(args.username, password, role=args.role, display_name=args.name)
    except UserExistsError as exc:
        print(f"Không tạo được tài khoản: {exc}.", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"Không tạo được tài khoản: {exc}.", file=sys.stderr)
        return 2
    print(f"Đã tạo tài khoản {user.username} ({user.role}).")
    return 0


def cmd_user_disable(args: argparse.Namespace, container: AccountsContext) -> int:
    """Disable a console account (its sessions stop working at once)."""
    container.migrate()
    if not container.users.set_active(args.username, False):
        print(f"Không có tài khoản {args.username}.", file=sys.stderr)
        return 1
    print(f"Đã khoá tài khoản {args.username}.")
    return 0

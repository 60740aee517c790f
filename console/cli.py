"""``helpline user ...``: console accounts from the command line.

``helpline user add USERNAME --role officer [--name "Nguyễn Văn A"]`` asks for the password twice, or
reads one line from standard input with ``--password-stdin`` (for scripts); ``user passwd``, ``user role``,
``user disable`` and ``user enable`` change an account (ending all its sessions); ``user unlock`` lifts a
lock after too many failed logins; ``user list`` shows the accounts and their locks. Each change is
written as a security event.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Protocol

from bot.core.errors import ValidationFailed
from console.auth.sessions import ConsoleAuth
from console.auth.users import ROLES, UserExistsError, UserService

CLI_ACTOR = "(dòng lệnh)"
"""Who a security event says acted, for a command run on the server."""


class AccountsContext(Protocol):
    """What the ``user`` commands need from the running application (the composition root's app)."""

    @property
    def users(self) -> UserService: ...

    @property
    def console_auth(self) -> ConsoleAuth: ...

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

    p = user_sub.add_parser("enable", help="mở lại tài khoản đã khoá")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_enable)

    p = user_sub.add_parser("unlock", help="mở khoá đăng nhập sau nhiều lần nhập sai mật khẩu")
    p.add_argument("username")
    p.set_defaults(func=cmd_user_unlock)

    p = user_sub.add_parser("passwd", help="đặt mật khẩu mới (mọi phiên đăng nhập của tài khoản kết thúc)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ đầu vào chuẩn")
    p.set_defaults(func=cmd_user_passwd)

    p = user_sub.add_parser("role", help="đổi vai trò (mọi phiên đăng nhập của tài khoản kết thúc)")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=cmd_user_role)

    p = user_sub.add_parser("list", help="liệt kê tài khoản và tài khoản đang bị khoá đăng nhập")
    p.set_defaults(func=cmd_user_list)


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
    container.console_auth.events.record("account_created", user.username, actor=CLI_ACTOR, detail=user.role)
    print(f"Đã tạo tài khoản {user.username} ({user.role}).")
    return 0


def _changed(container: AccountsContext, found: bool, kind: str, username: str, done: str) -> int:
    if not found:
        print(f"Không có tài khoản {username}.", file=sys.stderr)
        return 1
    container.console_auth.events.record(kind, username.strip().lower(), actor=CLI_ACTOR)
    print(done)
    return 0


def cmd_user_disable(args: argparse.Namespace, container: AccountsContext) -> int:
    """Disable a console account (its sessions stop working at once)."""
    container.migrate()
    found = container.users.set_active(args.username, False)
    return _changed(container, found, "disabled", args.username, f"Đã khoá tài khoản {args.username}.")


def cmd_user_enable(args: argparse.Namespace, container: AccountsContext) -> int:
    """Enable a disabled console account."""
    container.migrate()
    found = container.users.set_active(args.username, True)
    return _changed(container, found, "enabled", args.username, f"Đã mở lại tài khoản {args.username}.")


def cmd_user_unlock(args: argparse.Namespace, container: AccountsContext) -> int:
    """Lift the login lock of an account (after too many wrong passwords)."""
    container.migrate()
    if container.users.by_name(args.username) is None:
        print(f"Không có tài khoản {args.username}.", file=sys.stderr)
        return 1
    lifted = container.console_auth.logins.unlock(args.username, CLI_ACTOR)
    print(f"Đã mở khoá đăng nhập cho {args.username}." if lifted else f"{args.username} không bị khoá.")
    return 0


def cmd_user_passwd(args: argparse.Namespace, container: AccountsContext) -> int:
    """Set a new password (every session of the account ends)."""
    password = _password(args)
    if password is None:
        return 1
    container.migrate()
    try:
        found = container.users.set_password(args.username, password)
    except ValidationFailed as exc:
        print(f"Không đổi được mật khẩu: {exc}.", file=sys.stderr)
        return 2
    return _changed(
        container, found, "password_changed", args.username, f"Đã đổi mật khẩu của {args.username}."
    )


def cmd_user_role(args: argparse.Namespace, container: AccountsContext) -> int:
    """Change the role of an account (every session of the account ends)."""
    container.migrate()
    found = container.users.set_role(args.username, args.role)
    return _changed(container, found, "role_changed", args.username, f"{args.username} giờ là {args.role}.")


def cmd_user_list(args: argparse.Namespace, container: AccountsContext) -> int:
    """The accounts, their roles, and which may not log in now."""
    container.migrate()
    locks = container.console_auth.logins.locked_accounts()
    for user in container.users.all():
        state = "đang hoạt động" if user.active else "đã khoá"
        verdict = locks.get(user.username)
        if verdict is not None:
            minutes = max(1, int(verdict.retry_after.total_seconds()) // 60)
            state += f", không đăng nhập được thêm {minutes} phút"
        print(f"{user.username}\t{user.role}\t{user.display_name}\t{state}")
    return 0

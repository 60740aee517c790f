"""The admins' page of accounts, ``/console/accounts`` ("Tài khoản"): every account with its role, whether
it is active and whether its logins are locked, and the recent security events.

Plain HTML forms that work without JavaScript, one per action, each POSTing with the session's CSRF
token and redirecting back with a notice: lift a login lock ("Mở khoá đăng nhập"), disable or enable an
account, change its role, set a new password. The actions are the ones of :mod:`console.web.accounts_api`
(the same services, the same security events); an admin cannot disable their own account here either.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from bot.core.errors import ValidationFailed
from console.auth.users import ROLES
from console.web.accounts_api import ADMIN_ROLES, AccountOut, accounts_of, change_account
from console.web.deps import Auth, Zone
from console.web.kit import Page, PageRoute, console_templates, open_page, redirect_back

ROLE_LABELS = {"officer": "Cán bộ", "editor": "Biên tập viên", "admin": "Quản trị viên"}
EVENT_LABELS = {
    "login": "Đăng nhập",
    "login_failed": "Đăng nhập sai mật khẩu",
    "login_refused": "Bị từ chối đăng nhập (đang phải chờ)",
    "account_locked": "Khoá đăng nhập sau nhiều lần sai",
    "unlocked": "Mở khoá đăng nhập",
    "logout": "Đăng xuất",
    "account_created": "Tạo tài khoản",
    "disabled": "Tạm ngừng tài khoản",
    "enabled": "Mở lại tài khoản",
    "role_changed": "Đổi vai trò",
    "password_changed": "Đổi mật khẩu",
}
URL = "/console/accounts"

templates = console_templates(ROLE_LABELS=ROLE_LABELS, EVENT_LABELS=EVENT_LABELS, ROLES=ROLES)
router = APIRouter(prefix=URL, include_in_schema=False, route_class=PageRoute)


async def accounts_page(request: Request, auth: Auth, zone: Zone) -> Page:
    """A page for an admin."""
    return await open_page(
        request,
        auth,
        zone,
        templates,
        roles=ADMIN_ROLES,
        forbidden="Chỉ quản trị viên được quản lý tài khoản.",
    )


AccountsPage = Annotated[Page, Depends(accounts_page)]
Username = Annotated[str, Form(min_length=1, max_length=64)]


def wait_label(seconds: int) -> str:
    """``0`` -> ``""``, ``90`` -> ``"còn 2 phút"``, ``7200`` -> ``"còn 2 giờ"`` (rounded up)."""
    if seconds <= 0:
        return ""
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"còn {minutes} phút"
    return f"còn {-(-minutes // 60)} giờ"


templates.env.filters["wait_label"] = wait_label


@router.get("", response_class=HTMLResponse)
async def show(page: AccountsPage, auth: Auth, notice: str | None = None) -> Response:
    accounts: list[AccountOut] = await asyncio.to_thread(accounts_of, auth)
    events = await asyncio.to_thread(auth.events.recent, 50)
    return page.render(
        "accounts.html",
        {"accounts": accounts, "events": events, "notice": notice, "me": page.account.username},
    )


@router.post("/unlock")
async def unlock(page: AccountsPage, auth: Auth, username: Username) -> Response:
    lifted = await change_account(auth, page.account, "unlocked", username)
    notice = f"Đã mở khoá đăng nhập cho {username}." if lifted else f"{username} không bị khoá đăng nhập."
    return redirect_back(URL, notice)


@router.post("/active")
async def set_active(
    page: AccountsPage, auth: Auth, username: Username, active: Annotated[bool, Form()]
) -> Response:
    if not active and username.strip().lower() == page.account.username:
        return redirect_back(URL, "Không thể tự tạm ngừng tài khoản của chính mình.")
    await change_account(auth, page.account, "enabled" if active else "disabled", username, active)
    return redirect_back(URL, f"Đã {'mở lại' if active else 'tạm ngừng'} tài khoản {username}.")


@router.post("/role")
async def set_role(
    page: AccountsPage, auth: Auth, username: Username, role: Annotated[str, Form()]
) -> Response:
    try:
        await change_account(auth, page.account, "role_changed", username, role)
    except ValidationFailed as exc:
        return redirect_back(URL, str(exc))
    return redirect_back(URL, f"Đã đổi vai trò của {username} thành {ROLE_LABELS.get(role, role)}.")


@router.post("/password")
async def set_password(
    page: AccountsPage, auth: Auth, username: Username, password: Annotated[str, Form(max_length=256)]
) -> Response:
    if not password.strip():
        return redirect_back(URL, "Mật khẩu mới không được để trống.")
    try:
        await change_account(auth, page.account, "password_changed", username, password)
    except ValidationFailed as exc:  # the password policy's reason, in plain words
        return redirect_back(URL, str(exc))
    return redirect_back(
        URL, f"Đã đặt mật khẩu mới cho {username}; các phiên đăng nhập của tài khoản đã kết thúc."
    )

"""Account administration and one's own password under ``/api``: admins list accounts and their login
locks, lift a lock, disable or enable an account, change its role or password; anyone logged in changes
their own password. Every change ends the account's sessions and is written as a security event
(:mod:`console.auth.events`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from bot.core.errors import NotFound
from console.auth.sessions import ConsoleAuth, client_address
from console.auth.users import User
from console.web.deps import AnyUser, Auth, api_user
from console.web.errors import ApiRoute

ADMIN_ROLES = ("admin",)
"""Who may administer accounts (admins only)."""


async def admin_api_user(request: Request, auth: Auth) -> User:
    """An admin."""
    return await api_user(request, auth, ADMIN_ROLES)


Admin = Annotated[User, Depends(admin_api_user)]
Username = Annotated[str, Path(min_length=1, max_length=64, description="the account's username")]


class AccountOut(BaseModel):
    """An account as an admin sees it."""

    username: str
    display_name: str
    role: str
    active: bool
    locked: bool = Field(description="logins refused now (a lock after many failures, or a backoff wait)")
    retry_after_seconds: int = Field(description="seconds until logins are accepted again (0: now)")


class RoleIn(BaseModel):
    """A new role."""

    role: Literal["officer", "editor", "admin"]


class PasswordIn(BaseModel):
    """A new password (an admin setting it)."""

    password: str = Field(min_length=1, max_length=256)


class OwnPasswordIn(BaseModel):
    """Changing one's own password."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class EventOut(BaseModel):
    """A security event."""

    created_at: datetime
    kind: str
    username: str
    actor: str
    address: str
    detail: str


router = APIRouter(prefix="/api", tags=["accounts"], route_class=ApiRoute)


def accounts_of(auth: ConsoleAuth) -> list[AccountOut]:
    """Every account with its login lock (blocking)."""
    locks = auth.logins.locked_accounts()
    out = []
    for u in auth.users.all():
        verdict = locks.get(u.username)
        out.append(
            AccountOut(
                username=u.username,
                display_name=u.display_name,
                role=u.role,
                active=u.active,
                locked=verdict is not None,
                retry_after_seconds=int(verdict.retry_after.total_seconds()) if verdict else 0,
            )
        )
    return out


async def change_account(auth: ConsoleAuth, admin: User, kind: str, username: str, *args: object) -> bool:
    """An admin's change of ``username``, written as the security event ``kind``: ``unlocked`` (True when
    there was a lock to lift), ``enabled`` / ``disabled`` (``args``: the new state), ``role_changed``
    (the role), ``password_changed`` (the password). Each change but the unlock ends the account's
    sessions.

    Raises:
        NotFound: no such account.
        ValidationFailed: a role that does not exist, a password the policy refuses.
    """
    name = username.strip().lower()
    if kind == "unlocked":
        if await asyncio.to_thread(auth.users.by_name, name) is None:
            raise NotFound(f"Không có tài khoản {username}.")
        return await asyncio.to_thread(auth.logins.unlock, name, admin.username)
    changes: dict[str, Callable[..., bool]] = {
        "enabled": auth.users.set_active,
        "disabled": auth.users.set_active,
        "role_changed": auth.users.set_role,
        "password_changed": auth.users.set_password,
    }
    change = changes[kind]
    if not await asyncio.to_thread(change, name, *args):
        raise NotFound(f"Không có tài khoản {username}.")
    await asyncio.to_thread(auth.events.record, kind, name, actor=admin.username)
    return True


@router.get("/admin/users", response_model=list[AccountOut], summary="Accounts and their login locks")
async def accounts(admin: Admin, auth: Auth) -> list[AccountOut]:
    return await asyncio.to_thread(accounts_of, auth)


@router.get("/admin/security-events", response_model=list[EventOut], summary="Recent security events")
async def security_events(admin: Admin, auth: Auth) -> list[EventOut]:
    events = await asyncio.to_thread(auth.events.recent, 200)
    return [EventOut(**{k: getattr(e, k) for k in EventOut.model_fields}) for e in events]


@router.post("/admin/users/{username}/unlock", status_code=204, summary="Lift a login lock")
async def unlock(username: Username, admin: Admin, auth: Auth) -> None:
    await change_account(auth, admin, "unlocked", username)


@router.post("/admin/users/{username}/disable", status_code=204, summary="Disable an account")
async def disable(username: Username, admin: Admin, auth: Auth) -> None:
    if username.strip().lower() == admin.username:
        raise HTTPException(status_code=409, detail="Không thể tự khóa tài khoản của chính mình.")
    await change_account(auth, admin, "disabled", username, False)


@router.post("/admin/users/{username}/enable", status_code=204, summary="Enable an account")
async def enable(username: Username, admin: Admin, auth: Auth) -> None:
    await change_account(auth, admin, "enabled", username, True)


@router.post("/admin/users/{username}/role", status_code=204, summary="Change an account's role")
async def role(username: Username, body: RoleIn, admin: Admin, auth: Auth) -> None:
    await change_account(auth, admin, "role_changed", username, body.role)


@router.post("/admin/users/{username}/password", status_code=204, summary="Set an account's password")
async def set_password(username: Username, body: PasswordIn, admin: Admin, auth: Auth) -> None:
    await change_account(auth, admin, "password_changed", username, body.password)


@router.post("/me/password", status_code=204, summary="Change my password (ends all my sessions)")
async def own_password(body: OwnPasswordIn, request: Request, user: AnyUser, auth: Auth) -> None:
    address = client_address(request)
    result = await asyncio.to_thread(auth.logins.attempt, user.username, body.current_password, address)
    if result.user is None:
        if not result.checked:
            raise HTTPException(status_code=429, detail=result.message)
        raise HTTPException(status_code=403, detail="Mật khẩu hiện tại không đúng.")
    await asyncio.to_thread(auth.users.set_password, user.username, body.new_password)
    await asyncio.to_thread(
        auth.events.record, "password_changed", user.username, actor=user.username, address=address
    )

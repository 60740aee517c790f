"""Issue 13, items 1-3: console logins throttled and locked (an admin lifts the lock), the password policy,
argon2 with the old scrypt hashes rehashed at login, sessions that end on the server (logout, password,
role, disable, idle and absolute timeouts, a cookie signed in the future), cookies Secure and
SameSite=Strict over https, and weak secrets refused at start-up.

Each test here failed on the code before issue 13 (the hole named in its docstring)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select, update

from bot.app.migrations import migrate
from bot.core.errors import ValidationFailed
from bot.core.settings import Settings
from bot.core.throttle import InMemoryThrottleStore, Throttle
from console.auth.login import LOGIN_RULES
from console.auth.passwords import b64, password_problem
from console.auth.sessions import COOKIE_NAME, CSRF_FIELD, ConsoleAuth
from console.auth.tables import AuthEventRow, UserRow
from console.auth.users import UserService
from knowledge.db import make_engine, make_session_factory
from tests.console_app import console_app
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
STRONG = "Zq8-vX3k_Lm2pR7tW9yB4nC6dF1gH5jK0sQe"


class Console:
    """The console's routers over a fresh database, with a fake clock shared by sessions and throttle."""

    def __init__(self, tmp_path, *, https: bool = False) -> None:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
        migrate(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.clock = FakeClock(NOW)
        self.users = UserService(self.sessions)
        self.lan = self.users.add("lan", "sen-hong-2026", "officer", "Trần Thị Lan")
        self.admin = self.users.add("quan", "song-dai-2026", "admin", "Ngô Quân")
        self.throttle = Throttle(InMemoryThrottleStore(), LOGIN_RULES, self.clock)
        self.auth = ConsoleAuth(
            self.users, "test-secret", secure_cookie=https, throttle=self.throttle, clock=self.clock
        )
        self.app: FastAPI = console_app(self.auth)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test")

    def events(self) -> list[tuple[str, str]]:
        with self.sessions() as session:
            return [
                (r.kind, r.username) for r in session.scalars(select(AuthEventRow).order_by(AuthEventRow.id))
            ]


@pytest.fixture
def console(tmp_path):
    c = Console(tmp_path)
    yield c
    c.engine.dispose()


async def login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = (await c.get("/api/csrf")).json()["csrf_token"]
    return await c.post(
        "/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token}
    )


async def csrf(c: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await c.get("/api/csrf")).json()["csrf_token"]}


# --- 1. login throttling and lockout -------------------------------------------------------------------


async def test_wrong_passwords_are_throttled_then_the_right_one_is_refused_too(console) -> None:
    """Hole: 100 wrong passwords in a row were all answered 401, then the right one logged in."""
    async with console.client() as c:
        statuses = [(await login(c, "lan", f"sai-{i}")).status_code for i in range(5)]
        assert statuses == [401] * 5  # five free failures; the fifth makes the next attempt wait
        refused = await login(c, "lan", "sen-hong-2026")
        assert refused.status_code == 429 and "thử lại sau" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) == 30  # the right password is not even checked
        assert (await login(c, "lan", "sen-hong-2026")).status_code == 429
        console.clock.advance(timedelta(seconds=31))
        assert (await login(c, "lan", "sen-hong-2026")).status_code == 200
    events = console.events()
    assert events.count(("login_failed", "lan")) == 5 and events[-1] == ("login", "lan")
    assert events.count(("login_refused", "lan")) == 1  # two refusals, one event a minute


async def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_a_sequence(console) -> None:
    async with console.client() as c:
        token = (await c.get("/api/csrf")).json()["csrf_token"]

        async def guess(i: int) -> int:
            body = {"username": "lan", "password": f"sai-{i}"}
            return (await c.post("/api/login", json=body, headers={"X-CSRF-Token": token})).status_code

        statuses = await asyncio.gather(*(guess(i) for i in range(30)))
    assert sorted(statuses) == [401] * 5 + [429] * 25


async def test_an_office_behind_one_address_logging_in_all_day_is_not_throttled(console) -> None:
    async with console.client() as c:
        for _ in range(25):  # each success takes back the failure counted before the check
            assert (await login(c, "lan", "sen-hong-2026")).status_code == 200
        assert (await login(c, "lan", "sai")).status_code == 401


async def test_an_unknown_account_is_throttled_the_same(console) -> None:
    async with console.client() as c:
        for i in range(5):
            assert (await login(c, "khong-co", f"sai-{i}")).status_code == 401
        assert (await login(c, "khong-co", "sai")).status_code == 429


async def test_ten_failures_lock_the_account_until_an_admin_lifts_it(console) -> None:
    async with console.client() as attacker, console.client() as admin:
        for i in range(10):
            await login(attacker, "lan", f"sai-{i}")
            console.clock.advance(timedelta(minutes=16))  # past every backoff wait
        locked = await login(attacker, "lan", "sen-hong-2026")
        assert locked.status_code == 429 and "quản trị viên mở khóa" in locked.json()["detail"]
        assert ("account_locked", "lan") in console.events()
        assert (await login(admin, "quan", "song-dai-2026")).status_code == 200
        accounts = {a["username"]: a for a in (await admin.get("/api/admin/users")).json()}
        assert accounts["lan"]["locked"] is True and accounts["quan"]["locked"] is False
        res = await admin.post("/api/admin/users/lan/unlock", headers=await csrf(admin))
        assert res.status_code == 204
        assert ("unlocked", "lan") in console.events()
        assert (await login(attacker, "lan", "sen-hong-2026")).status_code == 200


async def test_only_an_admin_may_lift_a_lock(console) -> None:
    async with console.client() as c:
        assert (await login(c, "lan", "sen-hong-2026")).status_code == 200
        assert (await c.post("/api/admin/users/lan/unlock", headers=await csrf(c))).status_code == 403
        assert (await c.get("/api/admin/users")).status_code == 403


async def form(c: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    """A console form POST, as the page's form sends it (the CSRF token in the form)."""
    token = (await c.get("/api/csrf")).json()["csrf_token"]
    return await c.post(path, data={CSRF_FIELD: token, **fields}, follow_redirects=False)


async def test_the_accounts_page_shows_a_lock_and_lifts_it(console) -> None:
    """The admins' page: a locked account says so and has the unlock button; pressing it lifts the lock
    (an event), the officer logs in again; officers cannot open the page."""
    async with console.client() as officer, console.client() as admin:
        for i in range(10):
            await login(officer, "lan", f"sai-{i}")
            console.clock.advance(timedelta(minutes=16))
        assert (await login(officer, "lan", "sen-hong-2026")).status_code == 429
        assert (await login(admin, "quan", "song-dai-2026")).status_code == 200
        page = (await admin.get("/console/accounts")).text
        row = page[page.index('data-username="lan"') :].split("</tr>")[0]
        assert "Bị khoá đăng nhập" in row and "Mở khoá đăng nhập" in row
        assert "Đăng nhập sai mật khẩu" in page and "Khoá đăng nhập sau nhiều lần sai" in page
        assert 'id="nav-accounts"' in page
        res = await form(admin, "/console/accounts/unlock", username="lan")
        assert res.status_code == 303 and res.headers["location"].startswith("/console/accounts?notice=")
        notice = (await admin.get(res.headers["location"])).text
        assert "Đã mở khoá đăng nhập cho lan." in notice
        assert ("unlocked", "lan") in console.events()
        assert (await login(officer, "lan", "sen-hong-2026")).status_code == 200
        forbidden = await officer.get("/console/accounts")
        assert forbidden.status_code == 403 and "Chỉ quản trị viên" in forbidden.text
        assert 'id="nav-accounts"' not in forbidden.text
        refused = await form(officer, "/console/accounts/unlock", username="lan")
        assert refused.status_code == 403


async def test_the_accounts_page_changes_role_password_and_activity(console) -> None:
    async with console.client() as admin:
        assert (await login(admin, "quan", "song-dai-2026")).status_code == 200
        weak = await form(admin, "/console/accounts/password", username="lan", password="123")
        assert weak.status_code == 303
        assert (await login(admin, "lan", "123")).status_code == 401  # refused by the policy, unchanged
        assert (await form(admin, "/console/accounts/role", username="lan", role="editor")).status_code == 303
        assert console.users.by_name("lan").role == "editor"
        bad = await form(admin, "/console/accounts/role", username="lan", role="superuser")
        assert "vai trò" in (await admin.get(bad.headers["location"])).text
        self_off = await form(admin, "/console/accounts/active", username="quan", active="false")
        assert "Không thể tự tạm ngừng" in (await admin.get(self_off.headers["location"])).text
        assert console.users.by_name("quan").active
        await form(admin, "/console/accounts/active", username="lan", active="false")
        assert not console.users.by_name("lan").active
        missing = await form(admin, "/console/accounts/active", username="khong-co", active="true")
        assert missing.status_code == 404 and "Không có tài khoản khong-co." in missing.text
    kinds = [k for k, u in console.events() if u == "lan"]
    assert {"role_changed", "disabled"} <= set(kinds) and "password_changed" not in kinds


async def test_one_address_is_throttled_across_accounts(console) -> None:
    async with console.client() as c:
        for i in range(20):  # twenty accounts, one failure each: no account is throttled...
            assert (await login(c, f"ten-{i}", "sai-mat-khau")).status_code == 401
        assert (await login(c, "lan", "sen-hong-2026")).status_code == 429  # ...but the address is


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("ngan", "lan", "ít nhất"),
        ("matkhau123", "lan", "phổ biến"),
        ("Password1234", "lan", "phổ biến"),
        ("lan-la-toi-2026", "lan", "tên đăng nhập"),
        ("aaaaaaaaaaaa", "lan", "lặp lại"),
        ("203948571620", "lan", "chữ số"),
    ],
)
def test_password_policy_refuses(password: str, username: str, problem: str) -> None:
    assert problem in (password_problem(password, username) or "")


def test_password_policy_accepts_a_good_one_and_accounts_use_it(console) -> None:
    assert password_problem("hoa-sen-nở-muộn", "lan") is None
    with pytest.raises(ValidationFailed, match="phổ biến"):
        console.users.add("moi", "qwerty123456", "officer")
    with pytest.raises(ValidationFailed, match="tên đăng nhập"):
        console.users.set_password("lan", "lan-lan-lan-2026")


def _scrypt(password: str) -> str:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${b64(salt)}${b64(digest)}"


def test_new_hashes_are_argon2id_and_old_scrypt_ones_are_rehashed_at_login(console) -> None:
    with console.sessions.begin() as session:
        session.execute(
            update(UserRow).where(UserRow.username == "lan").values(password_hash=_scrypt("cu-ma-van-dung"))
        )
    assert console.users.authenticate("lan", "sai-roi-nhe") is None
    assert console.users.authenticate("lan", "cu-ma-van-dung") is not None
    with console.sessions() as session:
        stored = session.scalars(select(UserRow.password_hash).where(UserRow.username == "lan")).one()
    assert stored.startswith("$argon2id$")
    assert console.users.authenticate("lan", "cu-ma-van-dung") is not None  # the new hash verifies
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP's parameters


# --- 2. server-side sessions ------------------------------------------------------------------------------


async def test_a_cookie_copied_before_logout_no_longer_works(console) -> None:
    """Hole: the cookie copied before logout still opened /api/me for its 12 hours."""
    async with console.client() as c:
        assert (await login(c, "lan", "sen-hong-2026")).status_code == 200
        copied = c.cookies[COOKIE_NAME]
        assert (await c.post("/api/logout", headers=await csrf(c))).status_code == 204
    async with console.client() as thief:
        thief.cookies.set(COOKIE_NAME, copied)
        assert (await thief.get("/api/me")).status_code == 401
    assert ("logout", "lan") in console.events()


async def test_password_role_and_disable_end_every_session(console) -> None:
    """Hole: cookies kept working after a password change."""
    async with console.client() as c, console.client() as admin:
        await login(c, "lan", "sen-hong-2026")
        await login(admin, "quan", "song-dai-2026")
        headers = await csrf(admin)
        steps = [
            ("/api/admin/users/lan/password", {"password": "trang-sang-2027"}, "trang-sang-2027"),
            ("/api/admin/users/lan/role", {"role": "editor"}, "trang-sang-2027"),
            ("/api/admin/users/lan/disable", None, None),
        ]
        for path, body, password in steps:
            assert (await c.get("/api/me")).status_code == 200
            assert (await admin.post(path, json=body, headers=headers)).status_code == 204, path
            assert (await c.get("/api/me")).status_code == 401, path
            if password:
                assert (await login(c, "lan", password)).status_code == 200
        assert (await login(c, "lan", "trang-sang-2027")).status_code == 401  # disabled
        kinds = [k for k, u in console.events() if u == "lan"]
        assert {"password_changed", "role_changed", "disabled"} <= set(kinds)


async def test_changing_ones_own_password_ends_ones_other_sessions(console) -> None:
    async with console.client() as phone, console.client() as desk:
        await login(phone, "lan", "sen-hong-2026")
        await login(desk, "lan", "sen-hong-2026")
        body = {"current_password": "sen-hong-2026", "new_password": "may-trang-bay-2027"}
        res = await desk.post("/api/me/password", json=body, headers=await csrf(desk))
        assert res.status_code == 204
        assert (await phone.get("/api/me")).status_code == 401
        bad = {"current_password": "sai-mat-khau", "new_password": "may-trang-bay-2028"}
        await login(desk, "lan", "may-trang-bay-2027")
        assert (await desk.post("/api/me/password", json=bad, headers=await csrf(desk))).status_code == 403


async def test_idle_and_absolute_timeouts(console) -> None:
    async with console.client() as c:
        await login(c, "lan", "sen-hong-2026")
        for _ in range(20):  # a tab that polls keeps its session for the working day...
            console.clock.advance(timedelta(minutes=30))
            assert (await c.get("/api/me")).status_code == 200
        console.clock.advance(timedelta(hours=2))  # ...but no longer than 12 hours
        assert (await c.get("/api/me")).status_code == 401
        await login(c, "lan", "sen-hong-2026")
        console.clock.advance(timedelta(minutes=46))  # 45 minutes without a request
        assert (await c.get("/api/me")).status_code == 401


def _forged(auth: ConsoleAuth, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{auth.signer._sign(body)}"


async def test_a_cookie_signed_in_the_future_or_without_a_session_is_refused(console) -> None:
    """Hole: a cookie stamped a year in the future was accepted (and a signed uid was a login)."""
    async with console.client() as c:
        await login(c, "lan", "sen-hong-2026")
        value = c.cookies[COOKIE_NAME]
        payload = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
    future = {**payload, "iat": int((NOW + timedelta(days=365)).timestamp())}
    signed_uid = {"uid": console.lan.id, "csrf": "t", "iat": int(NOW.timestamp())}
    for forged in (future, signed_uid):
        async with console.client() as c:
            c.cookies.set(COOKIE_NAME, _forged(console.auth, forged))
            assert (await c.get("/api/me")).status_code == 401


async def test_cookie_is_secure_and_strict_over_https(tmp_path) -> None:
    """Hole: cookies lacked Secure behind HTTPS."""
    console = Console(tmp_path, https=True)
    async with console.client() as c:
        cookie = (await c.get("/api/csrf")).headers["set-cookie"].lower()
    console.engine.dispose()
    assert "secure" in cookie and "samesite=strict" in cookie and "httponly" in cookie


async def test_ended_sessions_and_stale_login_counts_are_cleaned_up(console) -> None:
    async with console.client() as c:
        await login(c, "lan", "sai-mat-khau")
        await login(c, "lan", "sen-hong-2026")
    assert console.auth.store.count(console.lan.id) == 1
    console.clock.advance(timedelta(days=2))
    assert console.auth.housekeeping() == 2  # the idle session and the address's stale count
    assert console.auth.store.count(console.lan.id) == 0


def test_sessions_are_shared_by_two_processes(tmp_path) -> None:
    """Two ConsoleAuth on one database (two worker processes): a logout on one ends it on the other."""
    console = Console(tmp_path)
    other = ConsoleAuth(UserService(console.sessions), "test-secret", clock=console.clock)
    cookie = console.auth.cookie_for(console.lan)
    sid = other.signer.loads(cookie)["sid"]  # type: ignore[index]
    assert other.store.user_of(sid) == console.lan.id
    console.auth.store.close(sid)
    assert other.store.user_of(sid) is None
    console.engine.dispose()


# --- 3. secrets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["session_secret", "telegram_webhook_secret", "zalo_bot_webhook_secret", "rasa_auth_token"]
)
@pytest.mark.parametrize("weak", ["helpline", "helpline" * 5, "0123456789" * 4, "a" * 64])
def test_weak_secrets_stop_the_start(field: str, weak: str) -> None:
    """Hole: HELPLINE_SESSION_SECRET=helpline was accepted (an admin cookie could be forged offline)."""
    with pytest.raises(ValidationError, match="secrets.token_urlsafe"):
        Settings(_env_file=None, **{field: weak})


def test_the_refusal_names_the_setting_but_never_echoes_a_secret() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, session_secret="helpline-weak", telegram_token="123456:real-bot-token")
    text = str(refused.value)
    assert "HELPLINE_SESSION_SECRET" in text
    assert "helpline-weak" not in text and "real-bot-token" not in text


def test_strong_secrets_pass_and_development_mode_allows_weak_ones(caplog) -> None:
    assert Settings(_env_file=None, session_secret=STRONG).session_secret == STRONG
    with caplog.at_level("WARNING"):
        assert Settings(_env_file=None, session_secret="helpline", dev_mode=True).session_secret == "helpline"
    assert "DEVELOPMENT MODE" in caplog.text


def test_an_unset_session_secret_is_generated_once_and_kept(tmp_path) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path / "var")
    first = settings.resolved_session_secret()
    assert len(first) >= 43 and (tmp_path / "var" / "session_secret").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None, state_dir=tmp_path / "var").resolved_session_secret() == first
    (tmp_path / "var" / "session_secret").write_text("weak\n")
    with pytest.raises(ValueError, match="delete it"):
        settings.resolved_session_secret()


def test_the_command_line_lists_locks_and_lifts_them(console, capsys) -> None:
    import argparse

    from console.cli import cmd_user_list, cmd_user_role, cmd_user_unlock

    class Container:
        users = console.users
        console_auth = console.auth

        def migrate(self) -> None:
            pass

    for i in range(10):
        console.auth.logins.attempt("lan", f"sai-{i}", "203.0.113.9")
        console.clock.advance(timedelta(minutes=16))
    assert cmd_user_list(argparse.Namespace(), Container()) == 0
    assert "không đăng nhập được thêm 44 phút" in capsys.readouterr().out  # 60 - 16
    assert cmd_user_unlock(argparse.Namespace(username="lan"), Container()) == 0
    assert console.auth.logins.attempt("lan", "sen-hong-2026", "203.0.113.9").user is not None
    assert cmd_user_role(argparse.Namespace(username="khong-co", role="editor"), Container()) == 1
    assert ("unlocked", "lan") in console.events()

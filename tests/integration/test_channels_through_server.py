"""Telegram and Zalo end to end through the real server: platform update in, engine, reply out.

Telegram runs in polling mode against the local fake Bot API server; Zalo OA and Zalo Bot receive
signed webhooks in their real formats and reply through ``httpx.MockTransport`` fakes.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import httpx
import pytest

from bot.app.bootstrap import bootstrap
from bot.app.server import create_app
from bot.channels.zalo_oa import sign_event
from tests.fakes.adapters import fake_adapters
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.zalo import FakeZaloBot, FakeZaloOA

DATA = Path(__file__).parents[1] / "data" / "channels"

# Each test starts the whole server (about 4 s: loading the knowledge base and the NLU model, building the
# search index) on top of the session's model training; they stay in `make test`, the only end-to-end
# check of the platform channels, and `-m "not slow"` skips them while developing.
pytestmark = pytest.mark.slow


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


async def test_telegram_polling_answers_and_processes_a_duplicate_once(real_settings, monkeypatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with FakeTelegramServer() as tg:
        settings = real_settings.model_copy(
            update={"telegram_token": tg.token, "telegram_base_url": tg.base_url}
        )
        app = create_app(bootstrap(settings))
        async with app.router.lifespan_context(app):
            update = load("telegram_text_message.json")
            update["update_id"] = 9001
            update["message"]["text"] = "đăng ký kết hôn cần giấy tờ gì"
            tg.push_update(update)
            tg.push_update(copy.deepcopy(update))  # Telegram redelivers the same update
            sent = await tg.wait_for("sendMessage", timeout=20)
            assert "kết hôn" in sent[0]["text"].lower()
            chat_id = update["message"]["chat"]["id"]
            assert int(sent[0]["chat_id"]) == chat_id

            follow = copy.deepcopy(update)
            follow["update_id"] = 9002
            follow["message"]["message_id"] += 1
            follow["message"]["text"] = "lệ phí bao nhiêu"
            tg.push_update(follow)
            await tg.wait_for("sendMessage", count=2, timeout=20)
            # Updates are handled in order, so the duplicate was offered before the follow-up; had it been
            # queued, its reply would be sent by the same conversation's worker before join() returns.
            await app.state.app.queue.join()
            calls = tg.calls_to("sendMessage")
            # one reply to the question (the duplicate was dropped), one to the follow-up
            assert len(calls) == 2, [c["text"][:60] for c in calls]
            assert "kết hôn" in calls[1]["text"].lower()


async def test_zalo_oa_signed_webhook_is_answered_through_the_oa_api(real_settings) -> None:
    fake = FakeZaloOA()
    settings = real_settings.model_copy(
        update={
            "zalo_oa_app_id": fake.app_id,
            "zalo_oa_secret_key": "oa-secret",
            "zalo_app_secret_key": fake.app_secret_key,
            "zalo_oa_access_token": fake.access_token,
            "zalo_oa_refresh_token": fake.refresh_token,
        }
    )
    app = create_app(bootstrap(settings, adapters=fake_adapters(settings, http_transport=fake.transport)))
    event = load("zalo_oa_user_send_text.json")
    event["app_id"] = fake.app_id
    event["timestamp"] = str(int(time.time() * 1000))
    event["message"]["text"] = "lam cccd mat bao lau"
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    mac = sign_event(fake.app_id, body, event["timestamp"], "oa-secret")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            bad = await client.post("/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": "mac=00"})
            assert bad.status_code == 403
            started = time.monotonic()
            res = await client.post("/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": mac})
            assert res.status_code == 200 and time.monotonic() - started < 2
            again = await client.post("/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": mac})
            assert again.status_code == 200
        # the webhook queues before it answers, so the queue holds everything that will be sent
        await app.state.app.queue.join()
    assert len(fake.delivered) == 1, fake.delivered
    user_id, text = fake.delivered[0]
    assert user_id == event["sender"]["id"]
    assert "căn cước" in text.lower()


async def test_zalo_bot_numbered_choice_maps_back_to_the_button(real_settings) -> None:
    fake = FakeZaloBot()
    settings = real_settings.model_copy(
        update={"zalo_bot_token": fake.token, "zalo_bot_webhook_secret": "zb-secret-123"}
    )
    app = create_app(bootstrap(settings, adapters=fake_adapters(settings, http_transport=fake.transport)))
    update = load("zalo_bot_text_received.json")

    def with_text(text: str, message_id: str) -> dict:
        data = copy.deepcopy(update)
        inner = data.get("result", data)
        inner["message"]["text"] = text
        inner["message"]["message_id"] = message_id
        return data

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        headers = {"X-Bot-Api-Secret-Token": "zb-secret-123"}
        res = await client.post("/webhooks/zalo-bot", json=with_text("xin chào", "m1"), headers=headers)
        assert res.status_code == 200
        await app.state.app.queue.join()
        greeting = fake.sent()[0][1]
        assert "1." in greeting and "Trả lời bằng số" in greeting  # buttons became numbered text
        first_choice = greeting.split("1.", 1)[1].splitlines()[0].strip()
        await client.post("/webhooks/zalo-bot", json=with_text("1", "m2"), headers=headers)
        await app.state.app.queue.join()
    answer = fake.sent()[1][1].lower()
    assert first_choice.split()[-1].lower() in answer, (first_choice, answer[:200])


async def test_telegram_webhook_mode_sets_the_hook_and_checks_the_secret(real_settings, monkeypatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    secret = "hook-secret_0123456789"
    async with FakeTelegramServer() as tg:
        settings = real_settings.model_copy(
            update={
                "telegram_token": tg.token,
                "telegram_base_url": tg.base_url,
                "telegram_webhook_url": "https://helpline.example.gov.vn/webhooks/telegram",
                "telegram_webhook_secret": secret,
            }
        )
        app = create_app(bootstrap(settings))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            hook = (await tg.wait_for("setWebhook"))[0]
            assert hook["url"] == settings.telegram_webhook_url and hook["secret_token"] == secret
            update = load("telegram_start_command.json")
            wrong = await client.post(
                "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
            assert wrong.status_code == 403
            ok = await client.post(
                "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            assert ok.status_code == 200
            sent = await tg.wait_for("sendMessage", timeout=20)
            assert "xin chào" in sent[0]["text"].lower()
            assert "inline_keyboard" in json.dumps(sent[0].get("reply_markup", {}))

"""The console's one mapping from service errors to HTTP status codes (console/web/errors.py), and the
route classes that answer them in any app a router is included in."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from bot.core import errors
from console.web.errors import ApiRoute, error_body, install_error_handler, status_of
from console.web.kit import LoginRequired, PageRoute


class Refused(errors.HelplineError):
    pass


class FieldsWrong(Refused, errors.ValidationFailed):
    pass


class CannotRead(Refused, errors.BadRequest):
    pass


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.Forbidden("x"), 403),
        (errors.ValidationFailed("x"), 422),
        (errors.BadRequest("x"), 400),
        (errors.UnavailableError("x"), 503),
        (errors.ConfigurationError("x"), 500),
        (Refused("x"), 400),
        (FieldsWrong("x"), 422),  # the nearest listed ancestor decides, not the first base
        (CannotRead("x"), 400),
    ],
)
def test_status_of_the_nearest_listed_class(error: errors.HelplineError, status: int) -> None:
    assert status_of(error) == status


def test_body_has_problems_only_for_validation() -> None:
    assert error_body(FieldsWrong("Sai", {"name": "Tên trống."})) == {
        "detail": "Sai",
        "problems": {"name": "Tên trống."},
    }
    assert error_body(errors.ValidationFailed("Sai", ["Dòng 2: trống."]))["problems"] == ["Dòng 2: trống."]
    assert error_body(CannotRead("Không đọc được")) == {"detail": "Không đọc được"}
    assert error_body(errors.NotFound("Không có")) == {"detail": "Không có"}
    # a refusal that lists nothing (a bad date range) answers with the detail alone, as it always did
    assert error_body(errors.ValidationFailed("Ngày không hợp lệ.")) == {"detail": "Ngày không hợp lệ."}


async def test_route_classes_answer_errors_wherever_the_router_is_included() -> None:
    api, pages = APIRouter(route_class=ApiRoute), APIRouter(route_class=PageRoute)

    @api.get("/api/missing")
    async def missing() -> None:
        raise errors.NotFound("Không có thủ tục mang mã 1.000000.")

    @pages.get("/console/somewhere")
    async def somewhere() -> None:
        raise LoginRequired()

    app = FastAPI()  # no exception handler installed
    app.include_router(api)
    app.include_router(pages)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/api/missing")
        assert response.status_code == 404
        assert response.json() == {"detail": "Không có thủ tục mang mã 1.000000."}
        response = await c.get("/console/somewhere")
        assert response.status_code == 303 and response.headers["location"] == "/console/login"


async def test_installed_handler_answers_an_uncaught_service_error() -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.get("/missing")
    async def missing() -> None:
        raise errors.NotFound("Không có thủ tục mang mã 1.000000.")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/missing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Không có thủ tục mang mã 1.000000."}

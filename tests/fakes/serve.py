"""A real server process for fault tests and soak benchmarks: ``python -m tests.fakes.serve PORT``.

The app production runs (``create_app(bootstrap(...))`` served by uvicorn), with the rule-based fake NLU
and the factory procedures instead of a trained model and the 4,259 of the seed, so it starts in a few
seconds. Settings come from the environment as in production (``HELPLINE_DATABASE_URL``,
``HELPLINE_TELEGRAM_TOKEN`` ...); the developer's ``.env`` is not read.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import uvicorn

from bot.app.server import create_app
from bot.core.settings import Settings
from tests.fakes.app import factory_app
from tests.fakes.interpreter import FakeInterpreter


class SlowInterpreter(FakeInterpreter):
    """The fake NLU taking ``delay`` seconds per message, as a real model on a busy machine does: the
    inbox then holds acknowledged messages not yet answered, which is what a kill must not lose."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def parse(self, text: str) -> dict[str, Any]:
        time.sleep(self.delay)
        return super().parse(text)


def main(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed (``FAKE_NLU_DELAY_SECONDS`` slows the fake NLU)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    delay = float(os.environ.get("FAKE_NLU_DELAY_SECONDS", "0"))
    api = create_app(factory_app(settings, interpreter=SlowInterpreter(delay) if delay else None))
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))

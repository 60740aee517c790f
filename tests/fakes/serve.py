"""A real server process for fault tests and soak benchmarks: ``python -m tests.fakes.serve PORT``.

The app production runs (``create_app(bootstrap(...))`` served by uvicorn), with the rule-based fake NLU
and the factory procedures instead of a trained model and the 4,259 of the seed, so it starts in a few
seconds. Settings come from the environment as in production (``HELPLINE_DATABASE_URL``,
``HELPLINE_TELEGRAM_TOKEN`` ...); the developer's ``.env`` is not read.
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from bot.app.server import create_app
from bot.core.settings import Settings
from tests.fakes.app import factory_app


def main(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    api = create_app(factory_app(settings))
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))

"""Rasa 3.6's own client code against the project's server (run with Rasa's Python by
tests/integration/test_rasa_own_client.py; not collected by pytest, not imported by the project).

Usage: python rasa_client.py BASE_URL CONVERSATION_ID. Prints one JSON object with what Rasa made of it:
its RasaNLUHttpInterpreter's parse of a message (the class Rasa uses for an external NLU server), and
the tracker of the conversation deserialised by Rasa's own Event.from_parameters into a
DialogueStateTracker."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request

from rasa.core.channels.channel import UserMessage
from rasa.core.http_interpreter import RasaNLUHttpInterpreter
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig


async def main(base: str, conversation: str) -> None:
    interpreter = RasaNLUHttpInterpreter(EndpointConfig(base))
    parse = await interpreter.parse(UserMessage("lệ phí đăng ký kết hôn", sender_id="rasa-client"))
    await interpreter.session.close()
    with urllib.request.urlopen(f"{base}/conversations/{conversation}/tracker") as response:
        state = json.load(response)
    events = [Event.from_parameters(e) for e in state["events"]]
    tracker = DialogueStateTracker.from_events(conversation, [e for e in events if e is not None])
    print(
        json.dumps(
            {
                "parse_intent": parse["intent"],
                "parse_procedure": parse.get("procedure"),
                "events": [type(e).__name__ for e in events],
                "latest_text": tracker.latest_message.text,
                "latest_intent": tracker.latest_message.intent.get("name"),
                "bot_texts": [e.text for e in events if e is not None and e.type_name == "bot"],
                "latest_action_name": tracker.latest_action_name,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

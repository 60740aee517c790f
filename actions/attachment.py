"""A message that is not text (``/attachment{"kind": ...}``, from :mod:`bot.channels.media`).

A receipt photo whose code was read never gets here: the reader hands the engine the dossier look-up.
What does get here is told, in one short reply, what the bot can read — a photo whose code could not be
read is asked again (straight, sharp, the code's corner) or for the code typed; a voice note for the
question typed; a sticker, file, location or contact for a question — with the buttons to go on.
"""

from __future__ import annotations

from bot.core.domain import ActionName
from bot.core.events import Event
from bot.core.sdk import CollectingDispatcher, Tracker

RESPONSES = {
    "photo": "utter_attachment_photo",
    "voice": "utter_attachment_voice",
    "sticker": "utter_attachment_sticker",
}
"""The reply for each kind; every other kind (file, video, location, contact) gets ``utter_attachment_other``."""


class AttachmentAction:
    """Says what the bot can read, for the kind of message received."""

    name = ActionName.ATTACHMENT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[Event]:
        kind = tracker.latest_message.entity("kind") or "other"
        dispatcher.utter(RESPONSES.get(kind, "utter_attachment_other"))
        return []

"""Intents answered by an external action server's action, before the built-in dialogue rules.

``config.yml``'s ``action_endpoint.intents`` maps an intent (say ``ask_weather``, which a Rasa team's
own NLU model predicts) to an action its action server runs (``action_weather``). This is Rasa's
simplest rule, ``intent -> action``, laid over the project's :class:`bot.engine.policy.Policy`: a
message of a mapped intent (typed, or its button payload) runs that action, leaving any waiting mode;
every other message is decided by the policy as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from bot.core.config import PolicyConfig
from bot.core.domain import ActionName
from bot.core.parse import Parse
from bot.core.state import ConversationState
from bot.engine.policy import AnswerComparer, Decision, Policy
from knowledge.faq import FaqMatcher


class RoutedPolicy(Policy):
    """The policy with ``routes`` (intent -> action name) tried first.

    Args:
        routes: intent name -> the action answering it (an action the engine has, such as a
            :class:`actions.remote.RemoteAction`).
        config: the policy's thresholds.
        faq: the FAQ entries.
        answers: compares the answers of close candidates (see :class:`bot.engine.policy.Policy`).
    """

    def __init__(
        self,
        routes: Mapping[str, str],
        config: PolicyConfig | None = None,
        faq: FaqMatcher | None = None,
        answers: AnswerComparer | None = None,
    ) -> None:
        super().__init__(config, faq, answers)
        self.routes = dict(routes)

    def decide(self, parse: Parse, state: ConversationState) -> Decision:
        action = self.routes.get(parse.intent_name)
        if action is None:
            return super().decide(parse, state)
        # a routed action need not be one of ActionName: the engine looks actions up by their name
        return Decision((cast(ActionName, action),), tuple(self._settle(state)), rule="route")

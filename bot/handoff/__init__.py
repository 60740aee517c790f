"""The hand-off to officers: a conversation the bot could not help with, taken over by an officer.

The engine's escalation target, beside the engine and below the console (which only shows it):

* :mod:`bot.handoff.model` - tickets and their messages as the console sees them, the transition rules
  and their errors;
* :mod:`bot.handoff.tables` - the ``tickets`` and ``ticket_messages`` tables, officers' private
  ``ticket_notes``, the ``canned_replies`` editors keep, and ``turn_outcomes``;
* :mod:`bot.handoff.outcomes` - what each turn of the bot came to (answered, FAQ, a choice asked, out
  of scope, not understood), filed by the sink for the analytics and the learning inbox;
* :mod:`bot.handoff.service` - :class:`~bot.handoff.service.TicketService`: open, list, claim (the
  citizen is told which officer), reply, deliver, hand back, close, rate; notes and canned replies;
* :mod:`bot.handoff.sink` - the engine's event sink (escalations and low ratings open tickets) and the
  inbound recorder (citizen messages reach their open ticket);
* :mod:`bot.handoff.retry` - the background task that retries undelivered replies;
* :mod:`bot.core.config` - working hours and the ``escalation:`` section of config.yml.

How a ticket lives:

1. The escalation action moves the conversation to ``with_officer`` and emits
   :class:`bot.core.events.EscalationRequested`; the engine publishes it to
   :class:`~bot.handoff.sink.TicketEventSink`, which opens a ``waiting`` ticket holding the conversation
   so far (``ConversationStore.recent_messages``, whose texts are already redacted). The ticket is
   written after the turn's commit; if the process stops in between, the retry worker finds the
   conversation saved ``with_officer`` without a ticket and opens it
   (:meth:`~bot.handoff.service.TicketService.recover_escalations`).
2. While the ticket is open the engine stays silent. Citizen messages reach the ticket through
   :class:`~bot.handoff.sink.InboundRecorder`, a wrapper around the engine's handler that appends each
   message of a conversation with an open ticket *as sent* (the officer may need the ID number the
   citizen typed; the conversation log keeps only the redacted text). The engine cannot publish those
   messages as events because it returns before publishing in ``with_officer`` mode. A message of the
   durable inbox taken again after its process died is appended only if the ticket lacks it.
3. An officer claims it (a conditional ``UPDATE ... WHERE status = 'waiting'``: of two officers racing,
   exactly one wins) and replies. A ticket the bot was still answering (a low rating) is held for the
   officer through the engine (``Engine.hold_for_officer``), so the change of mode waits for the turn
   in progress. Replies go out through the channel registry on the citizen's own channel; a reply that
   cannot be delivered stays ``delivered = false`` and :class:`~bot.handoff.retry.DeliveryRetrier`
   tries again with backoff until it goes through (or until an officer sees it marked undelivered).
4. The officer hands the conversation back to the bot or closes the ticket with a note; both give the
   conversation back to the bot (``Engine.release_to_bot``). Closing asks the citizen for a 1-5 rating
   with buttons (``/give_feedback{"rating": "4"}``); the feedback action thanks them and the sink files
   the rating on the ticket.

Times are stored in UTC. Texts the citizen receives come from the response catalogue. The package
imports only :mod:`bot.core` and the database base: the engine's lock reaches it as injected callables.
"""

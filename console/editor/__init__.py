"""The editors' console services: edit procedures, FAQ entries and response texts, with validation, an
audit log, rollback, a "try it" box and live reload.

Everything an editor sees is plain Vietnamese. The pages and the JSON API both hand
:class:`console.editor.service.EditorService` *drafts*: plain dicts of what was typed (texts, lists of
lines, numbers possibly still as text). :mod:`console.editor.drafts` checks them, turns them into domain
records and says what is wrong in :class:`console.editor.errors.DraftInvalid` (one message per field, the
field named by a path such as ``documents.2.originals``).

Every change writes a row to ``audit_log`` (:mod:`console.editor.tables`) with the full snapshot before
and after (JSON) and a unified diff of the two (:mod:`console.editor.audit`). A rollback is itself a
change: it saves an earlier snapshot again and is audited.

Response texts stay in ``data/responses.yml``; an editor's version of a key is stored through the
:class:`bot.core.ports.ResponseOverrides` port and laid over the file at start-up
(:func:`bot.core.responses.load_responses`) and after each edit, through the same validation as the file
(:class:`bot.core.responses.ResponseCatalogue`).

The "try it" box runs the real engine (same live NLU, knowledge base, texts and policy) on a throw-away
conversation (channel ``try``) whose store keeps states in memory and drops the message log
(:class:`bot.storage.memory.ScratchConversationStore`), and with no event sink: nothing said there
reaches the message log, so analytics and the officer queue never see it.
"""

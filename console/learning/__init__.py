"""The learning loop: what the bot could not answer, what editors teach it, and moving that data in and out.

**The inbox** ("Câu chưa trả lời được") groups, by text (ignoring case and repeated spaces; texts are
already redacted in the log), three kinds of citizen messages from the ``messages`` table:

* *unanswered* ones, as :mod:`console.analytics` defines them
  (:func:`console.analytics.queries.unanswered_condition`: a fallback, or a confidence below
  ``learning.low_confidence`` of config.yml);
* *negatively rated* answers: a rating of the bot at or below ``escalation.negative_rating_at_most`` of
  config.yml (read as the dashboard reads bot ratings, :func:`console.analytics.report.rating_of`; a
  rating filed on an officer's ticket is about the officer, not the bot, and is left out) marks the
  citizen's last question before it.

An editor **assigns** a group to an intent, a procedure (national code, checked against the knowledge base)
and/or an FAQ entry, or **dismisses** it. Either way a ``review_items`` row remembers the decision, so the
group leaves the open inbox (and shows under the "Đã gán" / "Đã bỏ qua" filters). An assignment with an
intent (a procedure alone means "tell me about this procedure", ``ask_procedure_overview``) stores a
``training_examples`` row (source ``learned``); with an FAQ entry the text becomes one more way to ask
that entry. Then the live reload runs (``went_live``): FAQ matcher, index, and the NLU retrained on
``data/nlu.yml`` plus these examples (:mod:`nlu.learned`), so the running bot answers the message.

**Import and export**: FAQ entries as CSV (``id, questions, answer, procedure_codes, tags, enabled``;
lists separated by `` | ``) or YAML (the ``faq:`` format of ``data/faq.yml``, with ids); training
examples as Rasa ``nlu.yml`` or CSV (``text, intent, procedure_code``). An import checks the whole file
first and writes nothing when anything is wrong (:class:`console.learning.errors.ImportRefused` lists each
problem with its line); otherwise it writes everything in one transaction. Records are matched (FAQ: by id, else by a shared
question; examples: by text), so importing the same file again changes nothing.

Modules: :mod:`.config` (the ``learning:`` section), :mod:`.tables`, :mod:`.errors`, :mod:`.inbox` (the
groups, SQL over the message log and the tickets), :mod:`.examples` (the stored training examples),
:mod:`.transfer` (CSV and YAML in and out) and :mod:`.service` (:class:`.service.LearningService`, which
the pages and the API use).
"""

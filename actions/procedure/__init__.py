"""Answers about one procedure, from the knowledge base: documents, forms, steps, fees, time, where,
channels, conditions, legal basis, result and an overview.

Answers are chat-sized: long lists stop after :data:`actions.procedure.lists.PAGE_SIZE` items with a
"Xem thêm" button whose payload (``/more``) continues the list, long texts are clipped at a sentence or
clause, never mid-word. Official names are shortened to what a citizen recognises
(:func:`actions.procedure.names.display_name`). When a procedure's documents differ per case (7 groups
for the construction permit), only the citizen's case is listed: the one their words name
(:func:`knowledge.cases.match_group`), else the one they pick from buttons
(``/choose_group{"procedure": code, "group": "3"}``), remembered in the ``case`` slot.

When the knowledge base lacks a part, the answer says so in a plain sentence and links the procedure's
page on the national portal (or offers an officer when there is no link); a catalogue-only procedure
(name, field and online level only) says what is known and offers the portal search and an officer.
Also here: asking which procedure is meant, and offering a choice between close candidates.

One module per job:

==============  ===========================================================================
``names``       names and texts shaped for chat (display names, first clauses, titles, limits)
``facts``       fees and processing times as published, said in plain words
``places``      where a dossier is handed in, from the agency, the steps, the level or the field
``lists``       the paged lists ("Xem thêm")
``answers``     one answer per topic, and what to say when a part is missing
``actions``     the actions the registry builds (:mod:`actions.registry`)
==============  ===========================================================================
"""

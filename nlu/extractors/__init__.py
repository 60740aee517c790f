"""Entity extractors: spans of the user's text tagged with an entity type and a normalized value.

* :mod:`nlu.extractors.regex` (``RegexEntityExtractor``) finds dossier codes, phone numbers, 12-digit
  citizen ID numbers and dates, plus whatever ``regex:`` tables the training data declares.
* :mod:`nlu.extractors.mentions` (``ProcedureMentionExtractor``) finds the words citizens use for
  procedures ("sổ đỏ", "gplx") from the training data's annotations, synonyms and lookup tables and
  from ``data/aliases.yml``.

Both report offsets into the original text, through the alignment the normalizer leaves on the
message. The procedure linker, which reads the mentions, is :mod:`nlu.linker`.
"""

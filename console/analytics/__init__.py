"""Figures for the analytics dashboard: how much the help line is used and how well it helps.

:meth:`console.analytics.service.AnalyticsService.report` computes every figure for a range of days (days
in the service's time zone, ``Asia/Ho_Chi_Minh`` by default) from three tables: ``messages`` and
``conversations`` (:mod:`bot.storage.sql`) and ``tickets`` (:mod:`bot.handoff.tables`). Seven SQL statements
per report (:mod:`console.analytics.queries`), each restricted to the range on an indexed ``created_at``
(``ix_messages_created``); only the rows that have to be looked at one by one (tickets and ratings, both
few) are read into Python. What the figures mean: :mod:`console.analytics.report`.
"""

"""Dossier status (tra cứu hồ sơ): the adapters behind :class:`bot.core.ports.DossierGateway` and friends.

One module per job:

=================  ==========================================================================================
``config``         :class:`~bot.core.config.DossierConfig`, the ``dossier:`` section of ``config.yml``
``tables``         the tables (migration ``0003``, portable between SQLite and PostgreSQL): ``dossiers``,
                   ``dossier_subscriptions`` and ``dossier_access``
``local``          :class:`~bot.dossiers.local.LocalDossierGateway`: dossiers in our own database (the
                   default, and the demo). The applicant's phone and ID numbers are never stored: only
                   salted hashes of their last 4 digits.
``demo``           the demo dossiers (``knowledge/seed/demo_dossiers.yml``) and their seeding
``http``           :class:`~bot.dossiers.http.HttpDossierGateway`: a provincial one-stop-shop system
                   (hệ thống một cửa điện tử) over HTTP
``guard``          :class:`~bot.dossiers.guard.SqlDossierAccessGuard`: failed verifications per chat and
                   per dossier, locks, recent grants
``subscriptions``  :class:`~bot.dossiers.subscriptions.SqlDossierSubscriptions`: citizens who asked to hear
                   about changes
``watcher``        :class:`~bot.dossiers.watcher.DossierWatcher`: the periodic job that tells them on their
                   own channel
=================  ==========================================================================================

The package speaks :mod:`bot.core` (ports, the shared dossier wording in :mod:`bot.core.dossier`) and the
database; it imports no action and no engine.
"""

"""Console accounts: users (:mod:`.users`, table in :mod:`.tables`), password hashes (:mod:`.passwords`),
and signed session cookies, CSRF tokens and role checks (:mod:`.sessions`).

Standard library only. Roles: ``officer`` answers tickets, ``editor`` edits the knowledge base, ``admin``
does both.
"""

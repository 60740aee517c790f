"""The console's web layer: the page and JSON routers over the console's services, and their kit.

One module per group, each a module-level ``router``:

* :mod:`.officer` (``/console``: login, inbox, ticket) and :mod:`.api` (``/api``: the same as JSON);
  :mod:`.helpdesk_api` (``/api``: private notes, canned replies, the bot's answer to insert);
* :mod:`.accounts` (``/console/accounts``: the admins' page) and :mod:`.accounts_api` (``/api/admin/users``,
  ``/api/me/password``: accounts, login locks, passwords);
* :mod:`.editor` (``/console/editor``) and :mod:`.editor_api` (``/api/editor``);
* :mod:`.learning` (``/console/learning``) and :mod:`.learning_api` (``/api/learning``);
* :mod:`.analytics` (``/console/analytics``) and :mod:`.analytics_api` (``/api/analytics``).

What they share: :mod:`.deps` (the services of the running app, who is asking), :mod:`.kit` (templates,
pages, the login redirect), :mod:`.errors` (service errors as HTTP status codes), :mod:`.labels` (names
people read). A router needs nothing but to be included: the services come from ``app.state`` through
:mod:`.deps`, and each router's route class answers its errors.
"""

from __future__ import annotations

from console.web import (
    accounts,
    accounts_api,
    analytics,
    analytics_api,
    api,
    editor,
    editor_api,
    helpdesk_api,
    learning,
    learning_api,
    officer,
)

ROUTERS = (
    api.router,
    helpdesk_api.router,
    accounts_api.router,
    accounts.router,
    officer.router,
    analytics_api.router,
    analytics.router,
    editor_api.router,
    editor.router,
    learning_api.router,
    learning.router,
)
"""Every console router, in the order the server includes them."""

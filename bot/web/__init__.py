"""Web chat: the page at ``/`` and the Rasa-compatible REST channel."""

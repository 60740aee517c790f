"""SQL and in-memory adapters of the bot's ports (conversations, message log, dedup, outboxes)."""

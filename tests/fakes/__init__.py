"""Fakes at the transport layer: a local Telegram Bot API server and httpx mocks of the Zalo APIs."""

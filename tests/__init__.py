"""Unit, property and end-to-end tests; `telegram_server` is the local Bot API server."""

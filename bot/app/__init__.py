"""Use cases, the routing table, the button codec and the ports (no Telegram, no SQL)."""

"""The edge: Telegram handlers, rendering, storage, configuration and the entry point."""

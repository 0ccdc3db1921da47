"""The Telegram transport: everything that imports python-telegram-bot."""

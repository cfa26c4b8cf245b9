"""The core of Trợ lý số: messages, settings, database, engine and CLI."""

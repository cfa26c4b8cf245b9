"""One adapter per chat platform: verify, parse into our messages, send."""

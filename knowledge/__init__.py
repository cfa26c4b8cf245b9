"""The FAQ: tables, Vietnamese normalisation, the matcher, decisions, import and export."""

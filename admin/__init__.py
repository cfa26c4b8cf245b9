"""The web side for people: login, the JSON API, FAQ editor, escalation inbox, statistics, web chat."""

"""One module per kind of message; `main` puts them in order."""

"""The one error the search tools raise for bad input; ``lite-fairseq-search`` prints its message and exits 2."""


class SearchError(ValueError):
    """Bad input to the search (a malformed file, an impossible latency limit, ...); the message names it."""

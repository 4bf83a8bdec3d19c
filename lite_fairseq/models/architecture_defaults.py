"""The one rule every architecture function follows: a value given on the command line wins."""


def set_default(args, name, value):
    """Set ``args.name`` to ``value`` unless the user gave it (fairseq leaves unspecified options absent or None)."""
    if getattr(args, name, None) is None:
        setattr(args, name, value)

"""The converter's one error type."""


class ConversionError(ValueError):
    """The checkpoint cannot be converted; the message names the option, parameter or file at fault."""

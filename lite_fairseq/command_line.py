"""What every ``lite-fairseq-*`` command does with a user's mistake: one line ``PROG: error: ...`` on stderr and
exit code 2 (argparse's code for bad usage), never a traceback. The commands pass the error types that mean
"bad input" (a malformed option, an unreadable or corrupt file); anything else is a bug and keeps its traceback."""

import sys
from typing import Callable, Tuple, Type


def report_user_errors(action: Callable[[], int], prog: str, errors: Tuple[Type[BaseException], ...]) -> int:
    """Run ``action`` (a command's work, returning its exit code); a user's mistake becomes one line and code 2."""
    try:
        return action()
    except errors as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2

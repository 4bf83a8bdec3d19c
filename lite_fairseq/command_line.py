"""What every ``lite-fairseq-*`` command does with a user's mistake: one line ``PROG: error: ...`` on stderr and
exit code 2 (argparse's code for bad usage), never a traceback. The commands pass the error types that mean
"bad input" (a malformed option, an unreadable or corrupt file); anything else is a bug and keeps its traceback."""

import sys
from typing import Callable, List, Optional, Tuple, Type


def report_user_errors(run: Callable[[Optional[List[str]]], int], argv: Optional[List[str]], prog: str,
                       errors: Tuple[Type[BaseException], ...]) -> int:
    try:
        return run(argv)
    except errors as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2

"""Running the command line in-process for tests."""

import contextlib
import io

from nst_keras import cli


def run_cli(*argv):
    """``cli.main(argv)`` and its stderr lines."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, err.getvalue().splitlines()

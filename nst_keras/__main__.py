"""Run the command line: ``python -m nst_keras stylize CONTENT STYLE -o OUT``."""

import sys

from nst_keras.cli import main

sys.exit(main())

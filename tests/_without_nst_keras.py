"""The start of a script that proves an export runs with TensorFlow alone: importing nst_keras fails."""

import textwrap

PREAMBLE = textwrap.dedent(
    """
    import sys

    class Refuse:
        # Any attempt to import nst_keras fails loudly.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "nst_keras":
                raise ImportError("nst_keras must not be needed to run the export")

    sys.meta_path.insert(0, Refuse())
    import numpy as np
    import tensorflow as tf
    """
)

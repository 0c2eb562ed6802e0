"""``nst-keras sheet``: a contact sheet of content, style(s) and result, one row per result.

Example:

>>> from nst_keras.cli import main
>>> main(["sheet", "out.png", "-o", "sheet.png", "--checkpoints"])  # doctest: +SKIP
0
"""

import argparse
import os
import re

from nst_keras.cli.common import EXIT_OK, UsageError, info, plural
from nst_keras.cli.options import positive_int, with_flags


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``sheet`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["sheet", "r.png", "-o", "s.png"]).height
    192
    """
    parser = commands.add_parser(
        "sheet", help="contact sheet: content, style(s) and result, one row per result", description=(
            "Build a contact sheet with one row per result: content, style(s), optionally the saved epochs, "
            "and the result. The content and style files are found where each result's metadata recorded "
            "them (from any folder), or given with --row."))
    parser.add_argument("results", nargs="*", metavar="RESULT", help="images written by nst-keras stylize")
    parser.add_argument("-o", "--output", required=True, help="sheet image: .png, .jpg, .webp or .tif")
    parser.add_argument("--inputs", action="append", default=None, metavar="FOLDER",
                        help="folder holding the content and style files named in the metadata, searched "
                             "first (repeatable; by default the inputs are found where the result recorded them, "
                             "else in the result's folder or the current folder)")
    parser.add_argument("--row", nargs="+", action="append", default=None, metavar="PATH",
                        help="a row given explicitly: CONTENT STYLE [STYLE ...] RESULT (repeatable)")
    parser.add_argument("--checkpoints", action="store_true",
                        help="also show the images saved with --save-every (RESULT_0004.png ...) before the result")
    parser.add_argument("--height", type=positive_int, default=192, help="row height in pixels (default %(default)s)")
    parser.add_argument("--no-labels", dest="labels", action="store_false", help="no file names under the images")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def find_input(role: str, name: str, recorded: list, folders: list, result: str) -> str:
    """The input ``name`` of ``result``: at a ``recorded`` path (``recorded_inputs``), else by name in ``folders``.

    ``folders`` (``--inputs``) are searched first when given, then the paths
    the output recorded, then the output's folder and the current folder.

    Example:

    >>> find_input("style image", "x.png", ["/gone/x.png"], [], "out.png")
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: out.png: its style image x.png has moved: it is not at /gone/x.png \
(recorded in out.png) nor in .; pass --inputs FOLDER or --row CONTENT STYLE RESULT
    """
    searched = list(dict.fromkeys(os.path.normpath(folder) for folder in folders))
    default = list(dict.fromkeys(os.path.normpath(folder) for folder in (os.path.dirname(result) or ".", ".")))
    candidates = [os.path.join(folder, name) for folder in searched] + list(recorded)
    candidates += [os.path.join(folder, name) for folder in default]
    for path in candidates:
        if os.path.isfile(path):
            return path
    where = ", ".join(dict.fromkeys(searched + default))
    if recorded:
        raise UsageError(f"{result}: its {role} {name} has moved: it is not at {recorded[-1]} (recorded in "
                         f"{result}) nor in {where}; pass --inputs FOLDER or --row CONTENT STYLE RESULT")
    raise UsageError(f"{result}: its {role} {name} (named in its metadata) is not in {where}; "
                     "pass --inputs FOLDER or --row CONTENT STYLE RESULT")


def checkpoint_files(result: str) -> list:
    """``(epoch, path)`` of the images ``--save-every`` saved beside ``result``, by epoch.

    Example:

    >>> checkpoint_files(os.path.join(os.path.dirname(__file__), "none.png"))
    []
    """
    folder, name = os.path.split(result)
    stem, ext = os.path.splitext(name)
    pattern = re.compile(re.escape(stem) + r"_(\d{4,})" + re.escape(ext) + "$")
    found = []
    for entry in os.listdir(folder or "."):
        match = pattern.match(entry)
        if match:
            found.append((int(match.group(1)), os.path.join(folder, entry)))
    return sorted(found)


def sheet_rows(args: argparse.Namespace) -> list:
    """``(content, styles, result)`` per row: the RESULT files first, then each ``--row``.

    Example:

    >>> sheet_rows(argparse.Namespace(results=[], row=[["c.jpg", "s.jpg", "r.png"]], inputs=None))
    [('c.jpg', ['s.jpg'], 'r.png')]
    """
    from nst_keras import images
    from nst_keras.provenance import recorded_inputs

    rows = []
    for result in args.results:
        try:
            metadata = images.read_metadata(result)
        except images.ImageError as err:
            raise UsageError(str(err)) from None
        found = recorded_inputs(metadata, result)
        roles = [role for role, _, _ in found]
        if "content image" not in roles or "style image" not in roles:
            raise UsageError(f"{result}: no content_image and style_image in its metadata (not written by "
                             "nst-keras stylize?); give the row with --row CONTENT STYLE RESULT")
        paths = [find_input(role, name, recorded, args.inputs or [], result) for role, name, recorded in found]
        rows.append((paths[0], paths[1:], result))
    for spec in args.row or []:
        if len(spec) < 3:
            raise UsageError(f"--row: expected CONTENT STYLE [STYLE ...] RESULT, got {' '.join(spec)}")
        rows.append((spec[0], spec[1:-1], spec[-1]))
    if not rows:
        raise UsageError("sheet: give at least one RESULT or --row")
    return rows


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras sheet``; return the exit code.

    Example:

    >>> run(argparse.Namespace(results=["out.png"], output="sheet.png", ...))  # doctest: +SKIP
    0
    """
    from nst_keras import images, plots

    rows = sheet_rows(args)
    cells, labels = [], []
    for content, styles, result in rows:
        epochs = checkpoint_files(result) if args.checkpoints else []
        cells.append([content] + styles + [path for _, path in epochs] + [result])
        labels.append([os.path.basename(content)] + [os.path.basename(s) for s in styles]
                      + [f"epoch {epoch}" for epoch, _ in epochs] + [os.path.basename(result)])
    try:
        images.check_output_path(args.output, [p for row in cells for p in row], overwrite=args.overwrite)
        loaded = []
        for row in cells:
            loaded.append([])
            for path in row:
                width, height = images.image_size(path)
                long_side = max(1, round(args.height * max(width, height) / height))
                loaded[-1].append(images.load_image(path, long_side))
    except images.ImageError as err:
        raise UsageError(with_flags(err)) from None
    sheet = plots.contact_sheet(loaded, height=args.height, labels=labels if args.labels else None)
    images.save_image(args.output, sheet)
    info(args, f"wrote {args.output} ({sheet.shape[1]}x{sheet.shape[0]}, {plural(len(rows), 'row')})")
    return EXIT_OK

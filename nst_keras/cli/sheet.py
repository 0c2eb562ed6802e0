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
            "and the result. The content and style files are found from the names nst-keras stylize "
            "records in each result's metadata, or given with --row."))
    parser.add_argument("results", nargs="*", metavar="RESULT", help="images written by nst-keras stylize")
    parser.add_argument("-o", "--output", required=True, help="sheet image: .png, .jpg, .webp or .tif")
    parser.add_argument("--inputs", action="append", default=None, metavar="FOLDER",
                        help="folder holding the content and style files named in the metadata (repeatable; "
                             "default: the result's folder, then the current folder)")
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


def find_input(name: str, folders: list, result: str, what: str) -> str:
    """The path of the input ``name`` that ``result``'s metadata names, from the first folder holding it.

    Example:

    >>> find_input("x.png", ["/no/such"], "out.png", "style image")
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: out.png: its style image x.png (named in its metadata) is not in /no/such; \
pass --inputs FOLDER or --row
    """
    for folder in folders:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise UsageError(f"{result}: its {what} {name} (named in its metadata) is not in "
                     f"{', '.join(folders)}; pass --inputs FOLDER or --row")


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

    rows = []
    for result in args.results:
        try:
            metadata = images.read_metadata(result)
        except images.ImageError as err:
            raise UsageError(str(err)) from None
        content, style = metadata.get("content_image"), metadata.get("style_image")
        if not content or not style:
            raise UsageError(f"{result}: no content_image and style_image in its metadata (not written by "
                             "nst-keras stylize?); give the row with --row CONTENT STYLE RESULT")
        folders = args.inputs or [os.path.dirname(result) or ".", "."]
        styles = [find_input(name, folders, result, "style image") for name in style.split(", ")]
        rows.append((find_input(content, folders, result, "content image"), styles, result))
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

"""What ``taskhub predict`` hands the text task: file paths and literal strings, mixed.

The CLI merges ``input=FILE`` and ``text="..."`` into one list, so an existing file is read as a
file and anything else is a text, except a single word ending in a data-file suffix, which is
almost surely a mistyped path and is reported as one instead of being classified.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskhub import UserError
from taskhub_text.readers import read_csv, read_jsonl, read_text

FILE_SUFFIXES = (".txt", ".csv", ".tsv", ".jsonl", ".json", ".text")


def _is_file(item: str) -> bool:
    try:
        return Path(item).expanduser().is_file()
    except OSError:  # a long text is not a valid path
        return False


def gather_inputs(inputs: Sequence[Any], text_columns: list[str], encoding: str = "utf-8") -> list[tuple[str, str]]:
    """(origin, text) pairs: ``file:line`` for texts read from files, ``text[i]`` for strings."""
    out: list[tuple[str, str]] = []
    for n, item in enumerate(inputs):
        item = str(item)
        if _is_file(item):
            out.extend(read_file(Path(item).expanduser(), text_columns, encoding))
        elif not item.strip():
            raise UserError(f"input {n + 1} is an empty text; give text=\"...\" a non-empty string")
        elif " " not in item.strip() and Path(item).suffix.lower() in FILE_SUFFIXES:
            raise UserError(f"input file not found: {item}")
        else:
            out.append((f"text[{n}]", item))
    return out


def read_file(path: Path, text_columns: list[str], encoding: str) -> list[tuple[str, str]]:
    """Texts of a predict file: CSV/TSV/JSONL by suffix (the text column(s), header required),
    else one text per line (blank lines skipped)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        examples = read_csv(path, text_columns, None, header=True, encoding=encoding, on_bad="skip")
    elif suffix in (".jsonl", ".ndjson"):
        examples = read_jsonl(path, text_columns, None, encoding=encoding, on_bad="skip")
    else:
        return [(f"{path}:{i}", line.strip()) for i, line in enumerate(read_text(path, encoding).splitlines(), start=1)
                if line.strip()]
    return list(zip(examples.origins, examples.texts))

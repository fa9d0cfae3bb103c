"""Reading text files so that every problem names its file and line.

All readers return :class:`Examples`: texts, label names and where each came from
(``file:line``), so a label the training split never saw, an empty text or a malformed row is
reported at its source instead of being silently mislabelled.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from taskhub import UserError
from taskhub.data import BadInputs, require_file

#: A reader's bad-row policy: ``"error"`` | ``"skip"`` (dataset.on_bad), or a shared :class:`BadInputs`.
Policy = str | BadInputs


def as_bad_inputs(on_bad: Policy) -> BadInputs:
    return on_bad if isinstance(on_bad, BadInputs) else BadInputs(on_bad)


@dataclass
class Examples:
    """One split: parallel lists of texts, label names and origins (``path:line``)."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str, label: str, origin: str) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.origins.append(origin)

    def subset(self, index: Sequence[int]) -> Examples:
        return Examples([self.texts[i] for i in index], [self.labels[i] for i in index],
                        [self.origins[i] for i in index])

    def extend(self, other: Examples) -> None:
        self.texts += other.texts
        self.labels += other.labels
        self.origins += other.origins


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The file's text; a decoding error names the line and suggests ``dataset.encoding``."""
    raw = require_file(path, "data file").read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not valid {encoding} (byte 0x{raw[exc.start]:02x}); "
                        f"convert the file to UTF-8 or pass dataset.encoding=latin-1 (or its real encoding)") from None
    except LookupError:
        raise UserError(f"dataset.encoding={encoding}: unknown encoding") from None
    return text[1:] if text.startswith("\ufeff") else text  # a UTF-8 byte-order mark is not text


def check_text(text: str, origin: str, bad: BadInputs) -> bool:
    """Whether to keep ``text``: an empty one is an error (``on_bad=error``) or skipped and counted (``skip``)."""
    if text.strip():
        return True
    bad.report(origin, "empty text")
    return False


def check_row(text: str, label: str | None, origin: str, bad: BadInputs) -> bool:
    """Whether to keep a labelled row: an empty text or an empty label (which would become a
    class called "") is reported to ``bad`` at ``origin`` (``file:line``)."""
    if not check_text(text, origin, bad):
        return False
    if label is not None and not label.strip():
        bad.report(origin, "empty label")
        return False
    return True


def _column_index(spec: str | int, header: list[str] | None, path: Path, what: str) -> int:
    if isinstance(spec, int) or (isinstance(spec, str) and spec.lstrip("-").isdigit() and (header is None or spec not in header)):
        i = int(spec)
        width = len(header) if header else None
        if width is not None and not -width <= i < width:
            raise UserError(f"{path}: dataset.{what}={spec} is out of range (the file has {width} columns)")
        return i
    if header is None:
        raise UserError(f"{path}: dataset.{what}={spec} names a column but dataset.header=false; "
                        f"use a column index (0, 1, ...) or a file with a header row")
    if spec not in header:
        from taskhub import did_you_mean

        raise UserError(f"{path}: no column '{spec}' for dataset.{what}{did_you_mean(str(spec), header)}; "
                        f"the columns are: {', '.join(header)}")
    return header.index(spec)


def _as_list(value: str | int | Sequence[str | int]) -> list[str | int]:
    return [value] if isinstance(value, (str, int)) else list(value)


def read_csv(path: str | Path, text_columns: str | int | Sequence[str | int], label_column: str | int | None,
             header: bool = True, delimiter: str | None = None, encoding: str = "utf-8",
             on_bad: Policy = "error") -> Examples:
    """Rows of a CSV/TSV file (TSV by suffix unless ``delimiter`` is given). Several text columns
    are joined with a space. ``label_column=None`` reads texts only (labels are empty)."""
    path = Path(str(path)).expanduser()
    bad = as_bad_inputs(on_bad)
    text = read_text(path, encoding)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = Examples()
    names: list[str] | None = None
    width: int | None = None
    text_idx: list[int] = []
    label_idx: int | None = None
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip() and width != 1):
                continue  # blank line
            if width is None:
                width = len(row)
                if header:
                    names = [c.strip() for c in row]
                text_idx = [_column_index(c, names, path, "text_columns") for c in _as_list(text_columns)]
                label_idx = None if label_column is None else _column_index(label_column, names, path, "label_column")
                if header:
                    continue
            line = reader.line_num
            if len(row) != width:
                raise UserError(f"{path}:{line}: expected {width} fields, found {len(row)} "
                                f"(quote fields that contain '{delimiter}', or check dataset.delimiter)")
            body = " ".join(row[i].strip() for i in text_idx)
            label = None if label_idx is None else row[label_idx].strip()
            if check_row(body, label, f"{path}:{line}", bad):
                out.add(body, label or "", f"{path}:{line}")
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    return out


def read_jsonl(path: str | Path, text_columns: str | Sequence[str], label_column: str | None,
               encoding: str = "utf-8", on_bad: Policy = "error") -> Examples:
    """One JSON object per line; several text fields are joined with a space."""
    path = Path(str(path)).expanduser()
    bad = as_bad_inputs(on_bad)
    out = Examples()
    fields = [str(c) for c in _as_list(text_columns)]
    for line_no, line in enumerate(read_text(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path}:{line_no}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{origin}: not valid JSON ({exc.msg}); JSONL needs one object per line") from None
        if not isinstance(record, dict):
            raise UserError(f"{origin}: expected a JSON object, found {type(record).__name__}")
        for name in fields + ([str(label_column)] if label_column is not None else []):
            if name not in record:
                from taskhub import did_you_mean

                raise UserError(f"{origin}: no field '{name}'{did_you_mean(name, list(record))}; "
                                f"the fields are: {', '.join(record)}")
        body = " ".join(str(record[f]).strip() for f in fields)
        label = None if label_column is None else _label_str(record[str(label_column)])
        if check_row(body, label, origin, bad):
            out.add(body, label or "", origin)
    return out


def _label_str(value: object) -> str:
    if value is None:
        return ""  # JSON null: no label
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_labelled_lines(path: str | Path, sep: str | None, encoding: str = "utf-8", on_bad: Policy = "error",
                        label_names: dict[str, str] | None = None) -> Examples:
    """``label<sep>text`` per line (SST-2's ``label sentence``, SMS Spam's ``label<TAB>text``)."""
    path = Path(str(path)).expanduser()
    bad = as_bad_inputs(on_bad)
    out = Examples()
    for line_no, line in enumerate(read_text(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path}:{line_no}"
        label, _, body = line.partition(sep) if sep else line.strip().partition(" ")
        if not _:
            raise UserError(f"{origin}: expected 'label{'<TAB>' if sep == chr(9) else ' '}text', found no separator")
        label = label.strip()
        if label_names is not None:
            if label not in label_names:
                raise UserError(f"{origin}: unknown label '{label}'; expected one of {', '.join(label_names)}")
            label = label_names[label]
        if check_row(body, label, origin, bad):
            out.add(body.strip(), label, origin)
    return out

"""Tables for task output, by tabulate: aligned columns a person can read in a terminal or a CI log."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return tabulate([[str(cell) for cell in row] for row in rows], headers=list(header), disable_numparse=True)


def megabytes(size: int | None) -> str:
    return "-" if size is None else f"{size / 1_000_000:.1f} MB"

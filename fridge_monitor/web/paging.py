"""Long lists in pages (``?page=N``): a page's bounds, its links and its "showing 1–50 of 1,500" line.

A list that grows with what publishers send (unassigned sensors, the sensor
list) must cost the same to render, and to refresh every few seconds,
whatever its length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import request

PAGE_SIZE = 50


def requested_page(arg: str = "page") -> int:
    """The page number asked for in the query string; 1 when absent or not a number."""
    try:
        return max(1, int(request.args.get(arg, "1")))
    except ValueError:
        return 1


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """Page ``number`` of a list of ``total`` items, ``size`` a page; ``url(n)`` links to page n."""

    number: int
    total: int
    url: Callable[[int], str]
    size: int = PAGE_SIZE

    @classmethod
    def of(cls, total: int, url: Callable[[int], str], *, size: int = PAGE_SIZE, arg: str = "page") -> Page:
        """The requested page, moved back onto the list if it asks past its end."""
        return cls(min(requested_page(arg), max(1, -(-total // size))), total, url, size)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The 1-based position of the page's first item (0 for an empty list)."""
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)

    @property
    def showing(self) -> str:
        """E.g. "showing 1–50 of 1,500"."""
        return f"showing {self.first:,}–{self.last:,} of {self.total:,}"

    @property
    def previous_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None

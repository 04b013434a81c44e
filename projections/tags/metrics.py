"""Prometheus counters of the tags projection."""

from __future__ import annotations

from prometheus_client import Counter

TAGS_WRITTEN = Counter("tags_written_total", "Files whose analysis tags were (re)written")
TAGS_UP_TO_DATE = Counter("tags_up_to_date_total",
                          "Files whose tags already matched their analysis (nothing written)")
# hash_mismatch: the file holds other audio than was analysed (edited since); missing: no
# file at the analysed path; unsupported: a format without a tag writer, or unreadable
# tags; superseded: a newer analysis of the file was written already.
TAGS_SKIPPED = Counter("tags_skipped_total", "Files not tagged, by reason", ["reason"])

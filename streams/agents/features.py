"""Measured values by name (a pool reply, a result-cache entry) as the schema's Features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from schemas.analysis_events import Features
from schemas.upcasters import GRID_FIELDS

# Measured by later builds than some cache entries: unknown (None) in those, never a made-up
# 0 cents or an empty grid.
LATER_FIELDS = ("tuning_cents", *GRID_FIELDS, "fingerprint")


def features_from(measured: Mapping[str, Any], analyzer_version: int) -> Features:
    """Validated Features (msgspec.ValidationError if the schema rejects a value).

    Names the schema does not know are dropped: entries cached by earlier builds carry the
    file's `path` and `timings`. The deployment's analyzer version replaces the pool child's
    constant, so cache entries, analysis ids and events all carry one version.
    """
    clean = {k: v for k, v in measured.items() if k in Features.__struct_fields__}
    for name in LATER_FIELDS:
        clean.setdefault(name, None)
    clean["analyzer_version"] = analyzer_version
    return msgspec.convert(clean, Features)

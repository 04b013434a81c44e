"""The one place Essentia is imported: silences its import-time INFO chatter on stderr, and
keeps configured algorithms for reuse."""

from __future__ import annotations

from typing import Any

import essentia

essentia.log.infoActive = False  # must precede essentia.standard's import

import essentia.standard as es  # noqa: E402

__all__ = ["es", "reusable"]

_made: dict[tuple[Any, ...], Any] = {}


def _frozen(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    return tuple(float(x) for x in value)  # coefficient lists and arrays


def reusable(name: str, slot: int = 0, **params: Any) -> Any:
    """Essentia algorithm `name` with `params`, built once per process and reset per use.

    Constructing some configured algorithms leaks native memory in Essentia's bindings:
    a file's set (IIR filters, spectral peaks, whitening, HPCP) cost ~6-8 KB of RSS that
    never came back, so a pool process grew ~22 MB over 3,300 files (benchmarks/
    pipeline_load.py). Reusing instances stops that. `slot` tells apart instances that
    must hold separate state at the same time (one IIR per channel). Not thread-safe:
    one analysis at a time per process, which is how the pool runs it.
    """
    key = (name, slot, *sorted((k, _frozen(v)) for k, v in params.items()))
    algorithm = _made.get(key)
    if algorithm is None:
        algorithm = _made[key] = getattr(es, name)(**params)
    else:
        algorithm.reset()  # clears carried state (an IIR's delay line); configuration stays
    return algorithm

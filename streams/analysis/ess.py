"""The one place Essentia is imported: silences its import-time INFO chatter on stderr."""

from __future__ import annotations

import essentia

essentia.log.infoActive = False  # must precede essentia.standard's import

import essentia.standard as es  # noqa: E402

__all__ = ["es"]

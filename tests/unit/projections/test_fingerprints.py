"""Pure duplicate matching: signatures, similarity with alignment, candidate pairs by
duration and signature, groups, and which copy to keep; plus the projection's columns."""

from __future__ import annotations

import base64

import msgspec
import numpy as np
import pytest

from projections.base import Positioned
from projections.postgres.apply import PostgresProjector
from projections.postgres.fingerprints import (
    Copy,
    candidate_pairs,
    groups,
    items_of,
    keep_order,
    raw_of_text,
    signature,
    signature_mismatch,
    similarity,
)
from schemas.analysis_events import AnalysisCompleted
from tests.unit.schemas.samples import all_samples

RNG = np.random.default_rng(3)


def recording(n: int = 900) -> np.ndarray:
    """Items like music's: each of the 32 bits has its own bias (most are clearly biased:
    measured on the rendered corpus, the median |share - 0.5| of a bit is 0.12)."""
    share = RNG.beta(0.6, 0.6, size=32)
    bits = RNG.random((n, 32)) < share
    return (bits * (1 << np.arange(32, dtype=np.uint64))).sum(axis=1).astype(np.uint32)


def noise(n: int) -> np.ndarray:
    return RNG.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)


def lossy(items: np.ndarray, flip: float) -> np.ndarray:
    """A copy with a share `flip` of its bits flipped (encoder loss)."""
    bits = RNG.random((len(items), 32)) < flip
    mask = (bits * (1 << np.arange(32, dtype=np.uint64))).sum(axis=1).astype(np.uint32)
    return items ^ mask


def test_similarity_is_one_minus_the_bit_error_rate_at_the_best_shift() -> None:
    a = recording()
    assert similarity(a, a) == 1.0
    copy = lossy(a, 0.05)
    assert similarity(a, copy) == pytest.approx(0.95, abs=0.01)
    shifted = np.concatenate([noise(5), copy])  # 5 items (~0.6 s) of extra lead-in
    assert similarity(a, shifted) == pytest.approx(0.95, abs=0.01)
    assert similarity(shifted, a) == pytest.approx(0.95, abs=0.01)
    assert similarity(a, noise(900)) == pytest.approx(0.5, abs=0.03)
    assert similarity(a, recording()) < 0.8
    assert similarity(a[:10], a[:10]) == 0.0  # too short to say anything


def test_signatures_of_copies_agree_and_of_others_disagree() -> None:
    a = recording()
    wrong, shared = signature_mismatch(signature(a), signature(lossy(a, 0.1)))
    assert wrong <= 2 and shared >= 20
    others = [signature_mismatch(signature(a), signature(recording())) for _ in range(20)]
    assert min(w for w, _ in others) > 2
    value, mask = signature(a)
    assert -(2**63) <= value < 2**63 and -(2**63) <= mask < 2**63  # fit bigints
    assert signature(np.array([], dtype=np.uint32)) == (0, 0)
    assert signature(noise(900))[1] == 0  # no bit is clear in noise: no evidence either way


def test_candidates_need_close_durations_and_agreeing_signatures() -> None:
    a, b = recording(), recording()
    sigs = [signature(a), signature(lossy(a, 0.1)), signature(a), signature(b)]
    durations = [200.0, 200.4, 260.0, 200.2]
    pairs = {tuple(sorted(p)) for p in candidate_pairs(durations, sigs)}
    assert pairs == {(0, 1)}  # 2: same audio but a minute longer; 3: another recording
    assert candidate_pairs([1.0], [(0, 0)]) == []


def test_groups_are_connected_components() -> None:
    assert sorted(map(sorted, groups(6, [(0, 1), (1, 2), (4, 5)]))) == [[0, 1, 2], [4, 5]]
    assert groups(3, []) == []


def test_the_copy_to_keep_is_lossless_then_bit_rate_then_longer() -> None:
    copies = [Copy("a", "/a.mp3", "mp3", "mp3", 128_000, 200.0),
              Copy("b", "/b.mp3", "mp3", "mp3", 320_000, 199.0),
              Copy("c", "/c.flac", "flac", "flac", 900_000, 198.0),
              Copy("d", "/d.wav", "pcm_s16le", "wav", None, 201.0),
              Copy("e", "/e.mp3", "mp3", "mp3", 320_000, 200.5)]
    assert [c.file_id for c in sorted(copies, key=keep_order)] == ["c", "d", "e", "b", "a"]


def test_raw_fingerprints_round_trip_and_bad_base64_is_ignored() -> None:
    items = recording(10)
    text = base64.b64encode(items.astype("<u4").tobytes()).decode()
    raw = raw_of_text(text)
    assert raw is not None and (items_of(raw) == items).all()
    assert raw_of_text("not base64!") is None and raw_of_text(None) is None


def test_the_projection_stores_the_fingerprint_and_its_signature() -> None:
    event = next(e for e in all_samples() if isinstance(e, AnalysisCompleted))
    items = recording(50)
    text = base64.b64encode(items.astype("<u4").tobytes()).decode()
    event = msgspec.structs.replace(event, payload=msgspec.structs.replace(
        event.payload, features=msgspec.structs.replace(event.payload.features,
                                                        fingerprint=text)))
    intents = PostgresProjector().apply([Positioned(event, "t", 0, 0)])
    assert intents.analyses[0]["fingerprint"] == items.astype("<u4").tobytes()
    assert (intents.tracks[0]["fingerprint_signature"],
            intents.tracks[0]["fingerprint_mask"]) == signature(items)
    bad = msgspec.structs.replace(event, payload=msgspec.structs.replace(
        event.payload, features=msgspec.structs.replace(event.payload.features,
                                                        fingerprint=None)))
    intents = PostgresProjector().apply([Positioned(bad, "t", 0, 0)])
    assert intents.analyses[0]["fingerprint"] is None
    assert intents.tracks[0]["fingerprint_signature"] is None
    assert intents.tracks[0]["fingerprint_mask"] is None

from __future__ import annotations

import random
import uuid

from aiokafka.partitioner import murmur2

from streams.bridge.partitioner import partitions_for


def test_vectorised_partitioner_matches_kafkas_default_bit_for_bit() -> None:
    rng = random.Random(3)
    keys = [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(2000)]
    keys += [rng.randbytes(rng.randint(0, 50)) for _ in range(500)]  # odd lengths too
    for n in (1, 3, 12, 64):
        expected = [(murmur2(k) & 0x7FFFFFFF) % n for k in keys]
        assert partitions_for(keys, n) == expected

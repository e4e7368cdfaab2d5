"""Near-duplicate stories: the SimHash of an article's text and how hashes are looked up.

The same wire story in many outlets is one *story* in the risk index
(:mod:`pipeline.trend`): articles whose hashes are within
``STORY_MAX_DISTANCE`` bits of each other inside ``STORY_WINDOW`` are one
story. A 64-bit SimHash of word 2-shingles is cut into four 16-bit bands; two
hashes within distance 3 share at least one band, so the store finds candidates
by band, not by scanning.

Owns: the hash, the bands, the story parameters and the signed/unsigned
conversions for BIGINT columns. Must not touch: the store (it calls these), the
index arithmetic. Pure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

#: near-duplicate stories: SimHash Hamming distance and time window
STORY_MAX_DISTANCE = 3
STORY_WINDOW = timedelta(hours=48)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BANDS = 4
_BAND_BITS = 16


def simhash(text: str) -> int:
    """64-bit SimHash of word 2-shingles of the lower-cased text (unsigned)."""
    import numpy as np  # here, not at the top: a start-up that stores nothing never needs it (~0.14 s)

    words = _WORD.findall(text.lower())
    shingles = [" ".join(words[i : i + 2]) for i in range(max(len(words) - 1, 1))] if words else [""]
    digests = b"".join(hashlib.blake2b(sh.encode(), digest_size=8).digest() for sh in shingles)
    # bit matrix (shingles x 64), bit i of each digest read as a big-endian integer
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(len(shingles), 64)
    votes = 2 * bits.sum(axis=0, dtype=np.int64) - len(shingles)  # +1 per set bit, -1 per clear bit
    return int.from_bytes(np.packbits(votes > 0).tobytes(), "big")


def story_text(title: str, summary: str) -> str:
    """What near-duplicate detection compares: the title and the summary's start."""
    return f"{title} {summary[:300]}"


def band_keys(h: int) -> list[int]:
    """Four 16-bit bands: two hashes within distance 3 share at least one band."""
    return [(b << _BAND_BITS) | ((h >> (b * _BAND_BITS)) & 0xFFFF) for b in range(_BANDS)]


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_signed64(h: int) -> int:
    """Unsigned 64-bit -> signed, for BIGINT columns."""
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned64(h: int) -> int:
    return h + (1 << 64) if h < 0 else h

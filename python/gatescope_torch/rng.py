"""Gatescope's seeded random numbers (src/engine/rng.ts): xoshiro128** (Blackman & Vigna) on four uint32 words,
seeded by splitmix32. The same seed gives the same stream as Gatescope, so the same initial model; the state is
saved in `gatescope.train` ("rng") for an exact resume.
"""

_M = 0xFFFFFFFF


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & _M


class Rng:
    def __init__(self, seed):
        # splitmix32 expands the seed so that nearby seeds give unrelated streams and the state is never all zero
        x = seed & _M
        words = []
        for _ in range(4):
            x = (x + 0x9E3779B9) & _M
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & _M
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & _M
            words.append(z ^ (z >> 16))
        self.s = words

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & _M, 7) * 9) & _M
        t = (s1 << 9) & _M
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next(self):
        """Uniform in [0, 1) with 53 random bits."""
        hi = self.next_uint32() >> 5  # 27 bits
        lo = self.next_uint32() >> 6  # 26 bits
        return (hi * 67108864 + lo) / 9007199254740992

    def uniform(self, lo, hi):
        return lo + (hi - lo) * self.next()

    def get_state(self):
        return list(self.s)

    def set_state(self, s):
        if len(s) != 4 or any(not isinstance(w, int) or w < 0 or w > _M for w in s) or all(w == 0 for w in s):
            raise ValueError("invalid RNG state: expected four uint32 words, not all zero")
        self.s = list(s)

"""Tables of MPEG-1/2 Audio Layer III that the MP3 encoder needs, exactly as the standard gives them.

- The analysis window ``C[i]`` of the polyphase filterbank: ISO/IEC 11172-3 Annex C, Table C.1
  (MPEG-2 LSF, ISO/IEC 13818-3, reuses it). Every published value is a multiple of 2**-21
  rounded to 9 decimals, so it is stored here exactly, as those integers. Only ``C[0..256]`` is
  listed: the table is symmetric about its centre, ``C[512 - i] == -C[i]`` except at multiples
  of 64 where the sign is kept, and the rest is derived from that rule.
- Huffman code table 15 (ISO/IEC 11172-3 Annex B, Table B.7): pairs of values 0..15, no
  ``linbits``. One table is enough because the encoder sizes its step so no value exceeds 15.

Transcribed from published copies of the standard's tables (table 15 from FFmpeg's
``libavcodec/mpegaudiodectab.h``; the window from an open-source reproduction of Table C.1) and
checked: both halves of the printed window agree with the symmetry rule, every value lies on
the 2**-21 grid, and table 15 is a complete prefix code (its Kraft sum is exactly 1).
``tests/emulator/test_emulator_codecs.py`` re-checks that and decodes the encoder's output with
FFmpeg, comparing it with the input sample by sample.
"""

from __future__ import annotations

WINDOW_SCALE = 2**21

_WINDOW_HALF = """
0 -1 -1 -1 -1 -1 -1 -2 -2 -2 -2 -3
-3 -4 -4 -5 -5 -6 -7 -7 -8 -9 -10 -11
-13 -14 -16 -17 -19 -21 -24 -26 -29 -31 -35 -38
-41 -45 -49 -53 -58 -63 -68 -73 -79 -85 -91 -97
-104 -111 -117 -125 -132 -139 -147 -154 -161 -169 -176 -183
-190 -196 -202 -208 213 218 222 225 227 228 228 227
224 221 215 208 200 189 177 163 146 127 106 83
57 29 -2 -36 -72 -111 -153 -197 -244 -294 -347 -401
-459 -519 -581 -645 -711 -779 -848 -919 -991 -1064 -1137 -1210
-1283 -1356 -1428 -1498 -1567 -1634 -1698 -1759 -1817 -1870 -1919 -1962
-2001 -2032 -2057 -2075 -2085 -2087 -2080 -2063 2037 2000 1952 1893
1822 1739 1644 1535 1414 1280 1131 970 794 605 402 185
-45 -288 -545 -814 -1095 -1388 -1692 -2006 -2330 -2663 -3004 -3351
-3705 -4063 -4425 -4788 -5153 -5517 -5879 -6237 -6589 -6935 -7271 -7597
-7910 -8209 -8491 -8755 -8998 -9219 -9416 -9585 -9727 -9838 -9916 -9959
-9966 -9935 -9863 -9750 -9592 -9389 -9139 -8840 -8492 -8092 -7640 -7134
6574 5959 5288 4561 3776 2935 2037 1082 70 -998 -2122 -3300
-4533 -5818 -7154 -8540 -9975 -11455 -12980 -14548 -16155 -17799 -19478 -21189
-22929 -24694 -26482 -28289 -30112 -31947 -33791 -35640 -37489 -39336 -41176 -43006
-44821 -46617 -48390 -50137 -51853 -53534 -55178 -56778 -58333 -59838 -61289 -62684
-64019 -65290 -66494 -67629 -68692 -69679 -70590 -71420 -72169 -72835 -73415 -73908
-74313 -74630 -74856 -74992 75038
"""

_TABLE_15_CODES = """
07 0c 12 35 2f 4c 7c 6c 59 7b 6c 77 6b 51 7a 3f
0d 05 10 1b 2e 24 3d 33 2a 46 34 53 41 29 3b 24
13 11 0f 18 29 22 3b 30 28 40 32 4e 3e 50 38 21
1d 1c 19 2b 27 3f 37 5d 4c 3b 5d 48 36 4b 32 1d
34 16 2a 28 43 39 5f 4f 48 39 59 45 31 42 2e 1b
4d 25 23 42 3a 34 5b 4a 3e 30 4f 3f 5a 3e 28 26
7d 20 3c 38 32 5c 4e 41 37 57 47 33 49 33 46 1e
6d 35 31 5e 58 4b 42 7a 5b 49 38 2a 40 2c 15 19
5a 2b 29 4d 49 3f 38 5c 4d 42 2f 43 30 35 24 14
47 22 43 3c 3a 31 58 4c 43 6a 47 36 26 27 17 0f
6d 35 33 2f 5a 52 3a 39 30 48 39 29 17 1b 3e 09
56 2a 28 25 46 40 34 2b 46 37 2a 19 1d 12 0b 0b
76 44 1e 37 32 2e 4a 41 31 27 18 10 16 0d 0e 07
5b 2c 27 26 22 3f 34 2d 1f 34 1c 13 0e 08 09 03
7b 3c 3a 35 2f 2b 20 16 25 18 11 0c 0f 0a 02 01
47 25 22 1e 1c 14 11 1a 15 10 0a 06 08 06 02 00
"""

_TABLE_15_LENGTHS = """
3 4 5 7 7 8 9 9 9 10 10 11 11 11 12 13
4 3 5 6 7 7 8 8 8 9 9 10 10 10 11 11
5 5 5 6 7 7 8 8 8 9 9 10 10 11 11 11
6 6 6 7 7 8 8 9 9 9 10 10 10 11 11 11
7 6 7 7 8 8 9 9 9 9 10 10 10 11 11 11
8 7 7 8 8 8 9 9 9 9 10 10 11 11 11 12
9 7 8 8 8 9 9 9 9 10 10 10 11 11 12 12
9 8 8 9 9 9 9 10 10 10 10 10 11 11 11 12
9 8 8 9 9 9 9 10 10 10 10 11 11 12 12 12
9 8 9 9 9 9 10 10 10 11 11 11 11 12 12 12
10 9 9 9 10 10 10 10 10 11 11 11 11 12 13 12
10 9 9 9 10 10 10 10 11 11 11 11 12 12 12 13
11 10 9 10 10 10 11 11 11 11 11 11 12 12 13 13
11 10 10 10 10 11 11 11 11 12 12 12 12 12 13 13
12 11 11 11 11 11 11 11 12 12 12 12 13 13 12 13
12 11 11 11 11 11 11 12 12 12 12 12 13 13 13 13
"""


def _analysis_window() -> tuple[float, ...]:
    half = [int(token) for token in _WINDOW_HALF.split()]
    assert len(half) == 257
    full = half + [(1 if i % 64 == 0 else -1) * half[512 - i] for i in range(257, 512)]
    return tuple(value / WINDOW_SCALE for value in full)


ANALYSIS_WINDOW = _analysis_window()
TABLE_15_CODES = tuple(int(token, 16) for token in _TABLE_15_CODES.split())
TABLE_15_LENGTHS = tuple(int(token) for token in _TABLE_15_LENGTHS.split())
TABLE_15_MAX = 15  # largest magnitude table 15 codes without linbits

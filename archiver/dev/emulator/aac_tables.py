"""Tables of MPEG-4 AAC-LC that the AAC encoder needs, exactly as the standard gives them.

- Spectrum Huffman codebook 11 (ISO/IEC 14496-3 subpart 4 / ISO/IEC 13818-7, the escape
  codebook): unsigned pairs of values 0..16, where 16 says an escape sequence follows. With it
  any magnitude up to 8191 can be coded, so one codebook serves every band.
- The long-window scalefactor band offsets for 16 kHz (``swb_offset_1024_16``): 43 bands.
- The scalefactor codeword for a difference of zero, ``"0"`` (index 60 of the scalefactor
  codebook); the encoder uses one scalefactor per frame, so it never needs another.

Transcribed from published copies of the standard's tables (FFmpeg's ``libavcodec/aactab.c``:
``codes11``, ``bits11``, ``swb_offset_1024_16``, ``ff_aac_scalefactor_code[60]``) and checked:
codebook 11 is a complete prefix code (Kraft sum exactly 1).
``tests/emulator/test_emulator_codecs.py`` re-checks that and decodes the encoder's output with
FFmpeg, comparing it with the input sample by sample.
"""

from __future__ import annotations

_CODEBOOK_11_CODES = """
000 006 019 03d 09c 0c6 1a7 390 3c2 3df 7e6 7f3 ffb 7ec ffa ffe 38e
005 001 008 014 037 042 092 0af 191 1a5 1b5 39e 3c0 3a2 3cd 7d6 0ae
017 007 009 018 039 040 08e 0a3 0b8 199 1ac 1c1 3b1 396 3be 3ca 09d
03c 015 016 01a 03b 044 091 0a5 0be 196 1ae 1b9 3a1 391 3a5 3d5 094
09a 036 038 03a 041 08c 09b 0b0 0c3 19e 1ab 1bc 39f 38f 3a9 3cf 093
0bf 03e 03f 043 045 09e 0a7 0b9 194 1a2 1ba 1c3 3a6 3a7 3bb 3d4 09f
1a0 08f 08d 090 098 0a6 0b6 0c4 19f 1af 1bf 399 3bf 3b4 3c9 3e7 0a8
1b6 0ab 0a4 0aa 0b2 0c2 0c5 198 1a4 1b8 38c 3a4 3c4 3c6 3dd 3e8 0ad
3af 192 0bd 0bc 18e 197 19a 1a3 1b1 38d 398 3b7 3d3 3d1 3db 7dd 0b4
3de 1a9 19b 19c 1a1 1aa 1ad 1b3 38b 3b2 3b8 3ce 3e1 3e0 7d2 7e5 0b7
7e3 1bb 1a8 1a6 1b0 1b2 1b7 39b 39a 3ba 3b5 3d6 7d7 3e4 7d8 7ea 0ba
7e8 3a0 1bd 1b4 38a 1c4 392 3aa 3b0 3bc 3d7 7d4 7dc 7db 7d5 7f0 0c1
7fb 3c8 3a3 395 39d 3ac 3ae 3c5 3d8 3e2 3e6 7e4 7e7 7e0 7e9 7f7 190
7f2 393 1be 1c0 394 397 3ad 3c3 3c1 3d2 7da 7d9 7df 7eb 7f4 7fa 195
7f8 3bd 39c 3ab 3a8 3b3 3b9 3d0 3e3 3e5 7e2 7de 7ed 7f1 7f9 7fc 193
ffd 3dc 3b6 3c7 3cc 3cb 3d9 3da 7d3 7e1 7ee 7ef 7f5 7f6 ffc fff 19d
1c2 0b5 0a1 096 097 095 099 0a0 0a2 0ac 0a9 0b1 0b3 0bb 0c0 18f 004
"""

_CODEBOOK_11_LENGTHS = """
4 5 6 7 8 8 9 10 10 10 11 11 12 11 12 12 10
5 4 5 6 7 7 8 8 9 9 9 10 10 10 10 11 8
6 5 5 6 7 7 8 8 8 9 9 9 10 10 10 10 8
7 6 6 6 7 7 8 8 8 9 9 9 10 10 10 10 8
8 7 7 7 7 8 8 8 8 9 9 9 10 10 10 10 8
8 7 7 7 7 8 8 8 9 9 9 9 10 10 10 10 8
9 8 8 8 8 8 8 8 9 9 9 10 10 10 10 10 8
9 8 8 8 8 8 8 9 9 9 10 10 10 10 10 10 8
10 9 8 8 9 9 9 9 9 10 10 10 10 10 10 11 8
10 9 9 9 9 9 9 9 10 10 10 10 10 10 11 11 8
11 9 9 9 9 9 9 10 10 10 10 10 11 10 11 11 8
11 10 9 9 10 9 10 10 10 10 10 11 11 11 11 11 8
11 10 10 10 10 10 10 10 10 10 10 11 11 11 11 11 9
11 10 9 9 10 10 10 10 10 10 11 11 11 11 11 11 9
11 10 10 10 10 10 10 10 10 10 11 11 11 11 11 11 9
12 10 10 10 10 10 10 10 11 11 11 11 11 11 12 12 9
9 8 8 8 8 8 8 8 8 8 8 8 8 8 8 9 5
"""

CODEBOOK_11_CODES = tuple(int(token, 16) for token in _CODEBOOK_11_CODES.split())
CODEBOOK_11_LENGTHS = tuple(int(token) for token in _CODEBOOK_11_LENGTHS.split())
CODEBOOK_11 = 11
ESCAPE = 16  # the value codebook 11 uses to announce an escape sequence
MAX_MAGNITUDE = 8191  # largest quantized value an escape sequence can carry

SWB_OFFSETS_16K = (
    0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 100, 112, 124, 136, 148, 160, 172, 184, 196, 212,
    228, 244, 260, 280, 300, 320, 344, 368, 396, 424, 456, 492, 532, 572, 616, 664, 716, 772, 832,
    896, 960, 1024,
)  # fmt: skip

SCALEFACTOR_SAME = "0"  # scalefactor codebook, index 60: difference 0

"""A tiny H.264 (Baseline) encoder for a still test picture, written bit by bit.

Key frames code every macroblock as I_PCM (raw samples, no prediction or entropy coding) and
the frames between them skip every macroblock, so the stream is valid H.264 that any decoder
plays, yet needs no codec library. Picture order follows decode order (POC type 2).
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_BASELINE = 66
CONSTRAINT_FLAGS = 0xC0  # constraint_set0 and constraint_set1: constrained Baseline
LEVEL = 30
LOG2_MAX_FRAME_NUM = 4
_I_PCM = 25


class BitWriter:
    """MSB-first bit writer with the Exp-Golomb codes H.264 headers use."""

    def __init__(self) -> None:
        self._bytes = bytearray()
        self._current = 0
        self._used = 0

    def u(self, bits: int, value: int) -> None:
        for shift in range(bits - 1, -1, -1):
            self._current = (self._current << 1) | ((value >> shift) & 1)
            self._used += 1
            if self._used == 8:
                self._bytes.append(self._current)
                self._current = 0
                self._used = 0

    def ue(self, value: int) -> None:
        code = value + 1
        length = code.bit_length()
        self.u(length - 1, 0)
        self.u(length, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def byte_aligned(self) -> bool:
        return self._used == 0

    def align_zero(self) -> None:
        while not self.byte_aligned():
            self.u(1, 0)

    def raw(self, data: bytes) -> None:
        """Append whole bytes; only valid at a byte boundary."""
        assert self.byte_aligned()
        self._bytes += data

    def trailing_bits(self) -> bytes:
        """rbsp_trailing_bits(): a stop bit, then zeros to the byte boundary."""
        self.u(1, 1)
        self.align_zero()
        return bytes(self._bytes)


def nal_unit(ref_idc: int, unit_type: int, rbsp: bytes) -> bytes:
    """Wrap an RBSP as a NAL unit, inserting emulation-prevention bytes where needed."""
    out = bytearray([(ref_idc << 5) | unit_type])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


@dataclass(frozen=True)
class Picture:
    """A still YUV 4:2:0 picture whose size is a whole number of 16x16 macroblocks."""

    width: int
    height: int
    luma: bytes  # width * height samples, raster order
    cb: bytes  # (width/2) * (height/2)
    cr: bytes

    @property
    def mb_width(self) -> int:
        return self.width // 16

    @property
    def mb_height(self) -> int:
        return self.height // 16


def sequence_parameter_set(picture: Picture) -> bytes:
    w = BitWriter()
    w.u(8, PROFILE_BASELINE)
    w.u(8, CONSTRAINT_FLAGS)
    w.u(8, LEVEL)
    w.ue(0)  # seq_parameter_set_id
    w.ue(LOG2_MAX_FRAME_NUM - 4)
    w.ue(2)  # pic_order_cnt_type: output order is decode order
    w.ue(1)  # max_num_ref_frames
    w.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    w.ue(picture.mb_width - 1)
    w.ue(picture.mb_height - 1)
    w.u(1, 1)  # frame_mbs_only_flag
    w.u(1, 1)  # direct_8x8_inference_flag
    w.u(1, 0)  # frame_cropping_flag
    w.u(1, 0)  # vui_parameters_present_flag
    return nal_unit(3, 7, w.trailing_bits())


def picture_parameter_set() -> bytes:
    w = BitWriter()
    w.ue(0)  # pic_parameter_set_id
    w.ue(0)  # seq_parameter_set_id
    w.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    w.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    w.ue(0)  # num_slice_groups_minus1
    w.ue(0)  # num_ref_idx_l0_default_active_minus1
    w.ue(0)  # num_ref_idx_l1_default_active_minus1
    w.u(1, 0)  # weighted_pred_flag
    w.u(2, 0)  # weighted_bipred_idc
    w.se(0)  # pic_init_qp_minus26
    w.se(0)  # pic_init_qs_minus26
    w.se(0)  # chroma_qp_index_offset
    w.u(1, 0)  # deblocking_filter_control_present_flag
    w.u(1, 0)  # constrained_intra_pred_flag
    w.u(1, 0)  # redundant_pic_cnt_present_flag
    return nal_unit(3, 8, w.trailing_bits())


def idr_frame(picture: Picture, idr_pic_id: int) -> bytes:
    """A key frame: one I slice whose macroblocks are all I_PCM."""
    w = BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(7)  # slice_type: I (all slices)
    w.ue(0)  # pic_parameter_set_id
    w.u(LOG2_MAX_FRAME_NUM, 0)  # frame_num
    w.ue(idr_pic_id)
    w.u(1, 0)  # dec_ref_pic_marking: no_output_of_prior_pics_flag
    w.u(1, 0)  # dec_ref_pic_marking: long_term_reference_flag
    w.se(0)  # slice_qp_delta
    chroma_width = picture.width // 2
    for mb_y in range(picture.mb_height):
        for mb_x in range(picture.mb_width):
            w.ue(_I_PCM)
            w.align_zero()  # pcm_alignment_zero_bit
            samples = bytearray()
            for row in range(16):
                start = (mb_y * 16 + row) * picture.width + mb_x * 16
                samples += picture.luma[start : start + 16]
            for plane in (picture.cb, picture.cr):
                for row in range(8):
                    start = (mb_y * 8 + row) * chroma_width + mb_x * 8
                    samples += plane[start : start + 8]
            w.raw(bytes(samples))
    return nal_unit(3, 5, w.trailing_bits())


def skip_frame(picture: Picture, frame_num: int) -> bytes:
    """A reference P frame that skips every macroblock: it repeats the previous picture."""
    w = BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(5)  # slice_type: P (all slices)
    w.ue(0)  # pic_parameter_set_id
    w.u(LOG2_MAX_FRAME_NUM, frame_num % (1 << LOG2_MAX_FRAME_NUM))
    w.u(1, 0)  # num_ref_idx_active_override_flag
    w.u(1, 0)  # ref_pic_list_modification_flag_l0
    w.u(1, 0)  # dec_ref_pic_marking: adaptive_ref_pic_marking_mode_flag
    w.se(0)  # slice_qp_delta
    w.ue(picture.mb_width * picture.mb_height)  # mb_skip_run: the whole picture
    return nal_unit(2, 1, w.trailing_bits())


def test_card(width: int, height: int, stripes: int) -> Picture:
    """Vertical colour stripes, one per participant, on a grey background."""
    palette = [(145, 54, 34), (41, 240, 110), (82, 90, 240), (210, 16, 146), (170, 166, 16)]
    luma = bytearray([128]) * (width * height)
    cb = bytearray([128]) * (width * height // 4)
    cr = bytearray([128]) * (width * height // 4)
    count = max(1, min(stripes, len(palette)))
    stripe = width // count
    for x in range(width):
        y_value, u_value, v_value = palette[min(x // stripe, count - 1)]
        for y in range(height):
            luma[y * width + x] = y_value
            if x % 2 == 0 and y % 2 == 0:
                cb[(y // 2) * (width // 2) + x // 2] = u_value
                cr[(y // 2) * (width // 2) + x // 2] = v_value
    return Picture(width, height, bytes(luma), bytes(cb), bytes(cr))

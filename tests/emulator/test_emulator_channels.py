"""Unmixed channel layouts from today's start request (``channels.layout``), without a server."""

from __future__ import annotations

from typing import Any

import pytest

from archiver.dev.emulator.channels import Layout, layout, raw_id
from archiver.dev.emulator.errors import ApiError

A, B, C, D, E, F, G = (f"8:acs:r_{n}" for n in "abcdefg")


def ident(raw: str) -> dict[str, Any]:
    return {"rawId": raw, "kind": "communicationUser", "communicationUser": {"id": raw}}


def test_without_lists_the_seeds_layout_is_kept() -> None:
    assert layout({}, (A, B, C, D, E, F, G), unmixed=True) == Layout(
        (A, B, C, D, E, F, G), (0, 1, 2, 3, 4, 4, 4)
    )
    assert layout({"channelAffinity": []}, (A, B), unmixed=False) == Layout((A, B), ())


def test_ordering_comes_first_and_unknown_people_join_the_call() -> None:
    body = {"audioChannelParticipantOrdering": [ident(C), ident(F)]}
    assert layout(body, (A, B, C), unmixed=True) == Layout((C, F, A, B), (0, 1, 2, 3))


def test_affinity_fixes_channels_and_the_rest_share_the_last_free_one() -> None:
    body = {
        "channelAffinity": [{"channel": 4, "participant": ident(A)}, {"channel": 0, "participant": ident(E)}]
    }
    assert layout(body, (A, B, C, D, E, F), unmixed=True) == Layout((A, B, C, D, E, F), (4, 1, 2, 3, 0, 3))


@pytest.mark.parametrize(
    ("model", "raw"),
    [
        ({"rawId": "4:+1555"}, "4:+1555"),
        ({"communicationUser": {"id": A}}, A),
        ({"phoneNumber": {"value": "+14255550123"}}, "4:+14255550123"),
        ({"microsoftTeamsUser": {"userId": "2b9f6e3a"}}, "8:orgid:2b9f6e3a"),
    ],
)
def test_raw_ids(model: dict[str, Any], raw: str) -> None:
    assert raw_id(model, "x") == raw


@pytest.mark.parametrize(
    "body",
    [
        {"audioChannelParticipantOrdering": [ident(A), ident(A)]},
        {"audioChannelParticipantOrdering": "A"},
        {"channelAffinity": [{"channel": -1, "participant": ident(A)}]},
        {"channelAffinity": [{"channel": True, "participant": ident(A)}]},
        {"channelAffinity": [{"channel": 1}]},
        {"channelAffinity": {"channel": 1}},
        {
            "channelAffinity": [
                {"channel": 1, "participant": ident(A)},
                {"channel": 2, "participant": ident(A)},
            ]
        },
    ],
)
def test_bad_lists_are_400(body: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as caught:
        layout(body, (A, B), unmixed=True)
    assert caught.value.status == 400

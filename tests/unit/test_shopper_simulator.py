"""The shopper simulator's pure parts, and receipts decoding with hostile input."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from devices.presence.model import PresenceRules, Track, ZoneChange, observe
from ingest.messages import DecodeError, RejectReason
from ingest.receipts import decode_receipt, parse_receipts_topic
from simulators.shoppers import BLEED_DBM, HeldOffer, basket, plan_shoppers, plan_trip
from simulators.store_world import UUID, demo_world

WORLD = demo_world()
START = 1_765_015_200.0


def test_the_plan_is_the_same_for_a_seed_and_mixes_the_stories() -> None:
    shoppers = plan_shoppers(WORLD, 200, seed=4)
    assert shoppers == plan_shoppers(WORLD, 200, seed=4)
    consented = [s for s in shoppers if s.consented]
    assert 0.5 < len(consented) / len(shoppers) < 0.7
    assert any(s.open_ticket for s in shoppers)
    assert any(s.bad_survey for s in shoppers)
    assert not any(s.open_ticket or s.bad_survey for s in shoppers if not s.consented)
    assert len({s.installation for s in shoppers}) == len(shoppers)


def test_the_radio_is_noisy_but_careline_debounce_finds_each_zone_once() -> None:
    """Jitter, drop-outs, faint neighbours and foreign beacons: run the trip's sightings
    through careline's own state machine and get exactly the zones walked through."""
    rules = PresenceRules()
    foreign = 0
    for n, shopper in enumerate(plan_shoppers(WORLD, 40, seed=9)):
        trip = plan_trip(WORLD, shopper, START + n, seed=9)
        minors = {z.minor: z.code for z in trip.store.zones}
        sightings = [s for _, body in trip.batches for s in body["sightings"]]
        foreign += sum(s["ibeacon"]["uuid"] != UUID for s in sightings)
        rssis = [s["rssi"] for s in sightings]
        assert max(rssis) - min(rssis) > 15  # jitter and bleed
        gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(sightings)]
        assert max(gaps) >= 2.0 or len(sightings) < 20  # a drop-out or a walk between zones
        tracks: dict[str, Track | None] = {}
        entered: list[str] = []
        for s in sightings:
            if s["ibeacon"]["uuid"] != UUID:
                continue
            zone = minors[s["ibeacon"]["minor"]]
            at = datetime.fromtimestamp(s["t"], UTC)
            tracks[zone], changes = observe(tracks.get(zone), at, s["rssi"], rules)
            entered += [zone for c in changes if c.kind is ZoneChange.ENTER]
        assert entered == [v.zone.code for v in trip.visits]
        assert all(b["t"] <= post for post, body in trip.batches for b in body["sightings"])
    assert rules.rssi_enter - 10 > BLEED_DBM


def test_redemption_depends_on_fit() -> None:
    """A yoghurt coupon moves families far more than gourmets; over many trips the
    simulated receipts show it."""
    yoghurt = WORLD.campaign("yoghurt")
    assert WORLD.redeem_p("family", yoghurt) > 2 * WORLD.redeem_p("gourmet", yoghurt)
    shoppers = plan_shoppers(WORLD, 400, seed=2)
    rates: dict[str, list[int]] = {"family": [], "gourmet": []}
    for shopper in shoppers:
        if shopper.segment not in rates:
            continue
        trip = plan_trip(WORLD, shopper, START, seed=2)
        if "dairy" not in {v.zone.code for v in trip.visits}:
            continue
        offer = HeldOffer(shopper.index, "yoghurt", "Dairy", trip.store.name, 1e12)
        _, redeemed = basket(WORLD, trip, [offer], seed=2)
        rates[shopper.segment].append(len(redeemed))
    family = sum(rates["family"]) / len(rates["family"])
    gourmet = sum(rates["gourmet"]) / len(rates["gourmet"])
    assert family > gourmet + 0.3


def test_an_expired_coupon_is_not_shown_at_the_till() -> None:
    shopper = plan_shoppers(WORLD, 1, seed=1)[0]
    trip = plan_trip(WORLD, shopper, START, seed=1)
    offers = [HeldOffer(n, c.code, "x", trip.store.name, trip.checkout_at - 1)
              for n, c in enumerate(WORLD.campaigns)]  # fmt: skip
    lines, redeemed = basket(WORLD, trip, offers, seed=1)
    assert redeemed == []
    assert all("offer_id" not in line for line in lines)


GOOD = {
    "receipt_id": "R-1",
    "at": "2026-12-06T10:00:00Z",
    "customer_id": 7,
    "total_cents": 500,
    "lines": [{"sku": "Y", "category": "dairy", "amount_cents": 300, "offer_id": 4}],
}


def test_a_good_receipt_decodes_with_its_time_in_utc() -> None:
    receipt = decode_receipt("LYON-1", json.dumps(GOOD).encode())
    assert receipt.at == datetime(2026, 12, 6, 10, tzinfo=UTC)
    assert receipt.lines[0].offer_id == 4
    later = decode_receipt(
        "LYON-1", json.dumps({**GOOD, "at": "2026-12-06T11:00:00+01:00"}).encode()
    )
    assert later.at - receipt.at == timedelta(0)
    assert later.digest() == receipt.digest()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"receipt_id": "R\u0000"}, RejectReason.INVALID),
        ({"receipt_id": ""}, RejectReason.INVALID),
        ({"at": "2026-12-06T10:00:00"}, RejectReason.INVALID),  # no offset
        ({"at": 12}, RejectReason.INVALID),  # relative time: not a receipt's
        ({"customer_id": "7; DROP TABLE"}, RejectReason.INVALID),
        ({"customer_id": 2**70}, RejectReason.INVALID),
        ({"total_cents": -1}, RejectReason.INVALID),
        ({"total_cents": 100}, RejectReason.INVALID),  # lines add up to more
        ({"lines": []}, RejectReason.INVALID),
        ({"lines": [{"category": "dairy", "amount_cents": 1}] * 201}, RejectReason.INVALID),
        ({"lines": [{"category": "dairy", "amount_cents": 1.5}]}, RejectReason.INVALID),
        (
            {"lines": [{"category": "dairy", "amount_cents": 1, "offer_id": 0}]},
            RejectReason.INVALID,
        ),
        ({"extra": 1}, RejectReason.INVALID),
    ],
)
def test_a_bad_receipt_is_refused_naming_the_rule(change: dict[str, object], reason: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_receipt("LYON-1", json.dumps({**GOOD, **change}).encode())
    assert raised.value.reason == reason


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe", b"[1]", b"{" * 5000, b'{"a": NaN}'])
def test_undecodable_receipts_are_refused(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_receipt("LYON-1", payload)


@pytest.mark.parametrize("topic", ["pos/LYON-1", "pos//receipts", "pos/a b/receipts",
                                   "pos/LYON-1/receipts/x", "ps/LYON-1/receipts"])  # fmt: skip
def test_off_scheme_topics_are_refused(topic: str) -> None:
    with pytest.raises(DecodeError) as raised:
        parse_receipts_topic(topic)
    assert raised.value.reason == RejectReason.UNKNOWN_TOPIC

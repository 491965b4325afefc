"""Campaigns, offer history with reasons, receipts, uplift, export and erasure over the API."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.integration.offer_world import T0, Pool, build_world


def test_campaigns_are_added_checked_and_listed(
    client: httpx.Client, agent: dict[str, str], viewer: dict[str, str]
) -> None:
    body = {
        "code": "yoghurt", "name": "Yoghurt week", "message": "20 % off yoghurt",
        "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z",
        "categories": ["Dairy"], "discount_percent": 20, "value_cents": 300,
        "cost_cents": 40, "budget_cents": 10000, "stock": 100,
    }  # fmt: skip
    made = client.post("/api/v1/campaigns", json=body, headers=agent)
    assert made.status_code == 201, made.text
    assert made.json()["categories"] == ["dairy"]
    assert client.post("/api/v1/campaigns", json=body, headers=agent).status_code == 409
    backwards = {**body, "code": "b", "ends_at": "2026-11-01T00:00:00Z"}
    assert client.post("/api/v1/campaigns", json=backwards, headers=agent).status_code == 422
    assert client.post("/api/v1/campaigns", json=body, headers=viewer).status_code == 403
    # found by the fuzzer: a discount the database would store as 0, and integer overflow
    for bad in ({"discount_percent": 0.001}, {"stock": 2**31}, {"budget_cents": 2**40}):
        answer = client.post("/api/v1/campaigns", json={**body, "code": "x", **bad}, headers=agent)
        assert answer.status_code == 422, (bad, answer.text)
    [listed] = client.get("/api/v1/campaigns", headers=viewer).json()
    assert listed["code"] == "yoghurt"


def test_history_receipt_export_and_erasure(
    client: httpx.Client,
    agent: dict[str, str],
    admin: dict[str, str],
    db: Pool,
) -> None:
    world = build_world(db)
    world.campaign("yoghurt")
    iris = world.shopper("Iris")
    world.enter(iris, "dairy", T0)
    world.enter(iris, "dairy", T0 + timedelta(hours=1))  # days_apart 0: a second offer
    history = client.get(f"/api/v1/customers/{iris}/offers", headers=agent).json()
    assert [line["outcome"] for line in history] == ["sent", "sent"]
    assert history[0]["zone_event"]["zone"] == "Dairy"
    assert history[0]["consent_record_id"] is not None
    assert history[0]["delivery"] == "pending"
    offer = history[-1]["id"]
    receipt = {
        "receipt_id": "T-1",
        "amount_cents": 349,
        "at": (T0 + timedelta(minutes=9)).isoformat(),
    }
    answer = client.post(f"/api/v1/offers/{offer}/receipts", json=receipt, headers=agent)
    assert answer.json() == {"recorded": True}
    again = client.post(f"/api/v1/offers/{offer}/receipts", json=receipt, headers=agent)
    assert again.json() == {"recorded": False}

    exported = client.get(f"/api/v1/customers/{iris}/export", headers=agent)
    assert exported.status_code == 200
    data = exported.json()
    assert data["customer"]["name"] == "Iris"
    assert len(data["zone_visits"]) == 2
    assert data["receipts"] == []  # the POS's receipts (none here: this one came by API)
    assert len(data["offers"]) == 2
    assert data["consent_ledger"][0]["purpose"] == "location_marketing"
    assert data["purchase_profile"] == []  # the learner's profile (from POS receipts)

    report = client.get("/api/v1/reports/uplift/policies", headers=admin)
    assert report.status_code == 200, report.text
    policies = report.json()
    assert policies["learner"]["policy"] == "learner"
    assert policies["random"]["offered"] == 0  # one candidate: nothing to compare yet
    assert "linucb_no_context" in policies["replay"]

    assert client.post(f"/api/v1/customers/{iris}/erase-presence", headers=agent).status_code == 403
    erased = client.post(f"/api/v1/customers/{iris}/erase-presence", headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["removed"]["visits"] == 2
    assert erased.json()["removed"]["purchase_profile"] == 0
    with db.connection() as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM presence_visits WHERE customer_id = %(c)s)"
            " + (SELECT count(*) FROM presence_zone_events WHERE customer_id = %(c)s)"
            " + (SELECT count(*) FROM presence_installations WHERE customer_id = %(c)s)"
            " + (SELECT count(*) FROM offer_decisions WHERE customer_id = %(c)s)"
            " + (SELECT count(*) FROM outbox WHERE customer_id = %(c)s)",
            {"c": iris},
        ).fetchone()
        counts = conn.execute("SELECT sum(visits) FROM presence_zone_counts").fetchone()
    assert left == (0,)
    assert counts == (2,)  # the anonymous counts stay
    assert client.get(f"/api/v1/customers/{iris}/offers", headers=agent).json() == []

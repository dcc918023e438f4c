"""The admin shows money but never moves it: payouts, stake snapshots and events, scores,
settlements and the chain's records refuse add, change and delete for a superuser; a
round's money fields are read-only on its change page, and a delete that would cascade
into money rows is refused."""

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from chain.models import ChainDeployment, IndexedEvent, RoundSettlement
from core.money import tokens_to_wei
from dex.models import DexBook, PnlMark, PoolObservation
from tournaments.admin import ROUND_MONEY_FIELDS
from tournaments.models import (
    ModelSlot,
    Payout,
    Round,
    RoundState,
    RoundTransition,
    Score,
    ScoreDay,
    StakeEvent,
    StakeSnapshot,
    Tournament,
)

pytestmark = pytest.mark.django_db

READ_ONLY_MODELS = [
    Payout, StakeSnapshot, StakeEvent, Score, ScoreDay, RoundTransition,
    RoundSettlement, ChainDeployment, IndexedEvent, DexBook, PnlMark, PoolObservation,
]


@pytest.fixture
def operator(client, make_user):
    user = make_user("olga-operator")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return user


@pytest.fixture
def money(resolved_round):
    """The resolved round's payouts and snapshots, plus its chain settlement record."""
    settlement = RoundSettlement.objects.create(
        round=resolved_round.round, settlement_root="0x" + "ab" * 32, leaf_count=2,
        total_rewards=str(tokens_to_wei("1.25")), total_burns=str(tokens_to_wei("0.5")),
    )
    return {
        "payout": Payout.objects.get(round=resolved_round.round, model=resolved_round.model),
        "snapshot": StakeSnapshot.objects.get(round=resolved_round.round, model=resolved_round.model),
        "stake_event": StakeEvent.objects.filter(model=resolved_round.model).first(),
        "settlement": settlement,
        "round": resolved_round.round,
    }


def admin_url(obj, view: str) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


class FormFields(HTMLParser):
    """Every submittable field of a page's forms, as a browser would post them."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "checkbox"}:
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.fields[a["name"]] = a.get("value") or "on"
        elif tag == "textarea" and a.get("name"):
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_fields(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.fields


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_money_admins_grant_a_superuser_view_only(model, operator):
    model_admin = admin.site.get_model_admin(model)
    request = RequestFactory().get("/admin/")
    request.user = operator
    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False


@pytest.mark.parametrize("row", ["payout", "snapshot", "stake_event", "settlement"])
def test_money_rows_can_be_seen_but_not_added_changed_or_deleted(client, operator, money, row):
    obj = money[row]
    before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    opts = obj._meta

    listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert listing.status_code == 200
    assert 'name="action"' not in listing.text  # no actions, "delete selected" included
    page = client.get(admin_url(obj, "change"))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text  # a view page: no save button, no inputs
    assert form_fields(page.text).keys() <= {"csrfmiddlewaretoken"}

    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    assert client.post(admin_url(obj, "change"), {"amount": "1"}).status_code == 403
    assert client.get(admin_url(obj, "delete")).status_code == 403
    assert client.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403
    client.post(  # the bulk delete, posted by hand: there is no such action to run
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert type(obj).objects.filter(pk=obj.pk).exists()

    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} == before


def test_payout_amount_cannot_be_changed_through_the_change_form(client, operator, money):
    payout = money["payout"]
    response = client.post(admin_url(payout, "change"), {
        "round": payout.round_id, "model": payout.model_id, "stake_at_risk": str(tokens_to_wei(25)),
        "corr": "0.5", "mmc": "0.5", "payout_factor": "1", "amount": str(tokens_to_wei(1000)), "state": "settled",
    })
    assert response.status_code == 403
    payout.refresh_from_db()
    assert (payout.amount, payout.state) == (tokens_to_wei("1.25"), "pending")


def test_round_money_fields_are_shown_but_not_editable_and_the_rest_still_saves(client, operator, money):
    rnd = money["round"]
    page = client.get(admin_url(rnd, "change"))
    assert page.status_code == 200
    fields = form_fields(page.text)
    for name in ROUND_MONEY_FIELDS:
        assert name not in fields, name
        assert f"field-{name}" in page.text, name  # shown, as text
    assert {"opens_at_0", "closes_at_0", "resolves_at_0", "number"} <= fields.keys()
    rules, root, count = rnd.rules, rnd.commitments_root, rnd.commitments_count

    data = fields | {
        "state": RoundState.SCHEDULED, "rules": '{"payout_cap": 1.0}', "commitments_root": "0x" + "00" * 32,
        "commitments_count": "0", "scored_days": "0", "meta_corr": "0.9",
        "resolves_at_1": "23:59:00", "_save": "Save",
    }
    response = client.post(admin_url(rnd, "change"), data)
    assert response.status_code == 302, form_fields(response.text)
    rnd.refresh_from_db()
    assert (rnd.state, rnd.rules, rnd.commitments_root, rnd.commitments_count, rnd.scored_days, rnd.meta_corr) == (
        RoundState.RESOLVED, rules, root, count, 2, 0.0333,
    )
    assert rnd.resolves_at.strftime("%H:%M:%S") == "23:59:00"  # a schedule field: editable


def test_round_transitions_cannot_be_added_through_the_round_page(client, operator, money):
    rnd = money["round"]
    page = client.get(admin_url(rnd, "change"))
    fields = form_fields(page.text)
    assert fields["transitions-MAX_NUM_FORMS"] == "0"  # no "add another" row
    n = int(fields["transitions-TOTAL_FORMS"])
    forged = fields | {
        "transitions-TOTAL_FORMS": str(n + 1), f"transitions-{n}-round": str(rnd.pk),
        f"transitions-{n}-from_state": "resolved", f"transitions-{n}-to_state": "settled",
        f"transitions-{n}-at_0": "2030-01-01", f"transitions-{n}-at_1": "00:00:00", "_save": "Save",
    }
    client.post(admin_url(rnd, "change"), forged)
    assert RoundTransition.objects.filter(round=rnd).count() == n
    assert not RoundTransition.objects.filter(round=rnd, to_state="settled").exists()


def test_deleting_a_round_with_payouts_is_refused(client, operator, money):
    rnd = money["round"]
    page = client.get(admin_url(rnd, "delete"))
    assert page.status_code == 200
    assert "your account doesn't have permission to delete the following types of objects" in page.text
    assert "payout" in page.text and "stake snapshot" in page.text
    assert client.post(admin_url(rnd, "delete"), {"post": "yes"}).status_code == 403
    assert Round.objects.filter(pk=rnd.pk).exists()
    assert Payout.objects.filter(round=rnd).count() == 2


def test_deleting_a_tournament_or_a_model_with_money_is_refused(client, operator, money):
    tournament = money["round"].tournament
    slot = money["payout"].model
    assert client.post(admin_url(tournament, "delete"), {"post": "yes"}).status_code == 403
    assert client.post(admin_url(slot, "delete"), {"post": "yes"}).status_code == 403
    assert Tournament.objects.filter(pk=tournament.pk).exists()
    assert ModelSlot.objects.filter(pk=slot.pk).exists()


def test_stake_and_reward_pool_are_read_only_on_their_pages(client, operator, money):
    slot = money["payout"].model
    tournament = slot.tournament
    slot_page = client.get(admin_url(slot, "change"))
    tournament_page = client.get(admin_url(tournament, "change"))
    assert "stake" not in form_fields(slot_page.text)
    assert "reward_pool" not in form_fields(tournament_page.text)
    assert "name" in form_fields(slot_page.text)  # the rest of the form is still there
    assert "field-stake" in slot_page.text and "field-reward_pool" in tournament_page.text

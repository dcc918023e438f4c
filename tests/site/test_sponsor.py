"""Sponsors: create a tournament through the form, run it from the dashboard; others get 403.

A file sent from the dashboard is stored and answered at once; the dashboard lists it as
`processing` until its check (`check_uploads`, the Celery task) makes it ready — in force —
or rejected, with the reason."""

from datetime import timedelta

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.money import tokens_to_wei
from tests.builders import csv_bytes, make_frame, sealed_predictions
from tournaments.models import (
    DatasetKind,
    DatasetVersion,
    RoundState,
    RoundTarget,
    SponsorUpload,
    Tournament,
)
from tournaments.services.lifecycle import round_close
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


def _create_payload(**overrides) -> dict:
    payload = {
        "name": "Solar Output",
        "slug": "",
        "description": "Forecast panel output.",
        "first_round_at": "",
        "round_interval_0": "2",
        "round_interval_1": "hours",
        "submission_window_0": "90",
        "submission_window_1": "minutes",
        "resolution_lag_0": "0",
        "resolution_lag_1": "minutes",
        "score_days": "3",
        "score_day_interval_0": "30",
        "score_day_interval_1": "minutes",
        "payout_threshold": "250",
        "corr_multiplier": "0.5",
        "mmc_multiplier": "2",
        "payout_cap": "0.05",
        "token_symbol": "SUN",
        "reward_pool": "1000.5",
        "training_data": SimpleUploadedFile("train.csv", csv_bytes(make_frame())),
    }
    payload.update(overrides)
    return payload


def test_create_tournament_page_needs_a_login(client):
    response = client.get(reverse("tournament-create"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_create_tournament_page_renders_the_form(login, sponsor):
    response = login(sponsor).get(reverse("tournament-create"))
    assert response.status_code == 200
    text = response.text
    assert 'enctype="multipart/form-data"' in text
    assert 'name="round_interval_0"' in text and '<option value="minutes">' in text
    assert 'name="training_data"' in text


def test_create_tournament_through_the_form(login, sponsor):
    client = login(sponsor)
    response = client.post(reverse("tournament-create"), _create_payload())
    assert response.status_code == 302
    assert response.url == reverse("tournament-dashboard", args=["solar-output"])
    t = Tournament.objects.get(slug="solar-output")
    assert t.sponsor == sponsor
    assert t.round_interval == timedelta(hours=2)
    assert t.submission_window == timedelta(minutes=90)
    assert t.resolution_lag == timedelta(0)
    assert t.score_days == 3 and t.score_day_interval == timedelta(minutes=30)
    assert t.payout_threshold == tokens_to_wei(250)
    assert t.reward_pool == tokens_to_wei("1000.5")
    assert t.token_symbol == "SUN"
    training = DatasetVersion.objects.get(tournament=t)
    assert (training.kind, training.rows, training.n_features, training.n_eras) == (
        "training",
        50,
        3,
        5,
    )
    assert list(t.rounds.values_list("number", "state")) == [(1, "scheduled")]
    dashboard = client.get(response.url)
    assert "Tournament “Solar Output” created." in dashboard.text


def test_create_tournament_with_a_chosen_first_round_time(login, sponsor):
    response = login(sponsor).post(
        reverse("tournament-create"),
        _create_payload(slug="solar-2030", first_round_at="2030-01-02T03:04"),
    )
    assert response.status_code == 302
    t = Tournament.objects.get(slug="solar-2030")
    assert t.first_round_at.isoformat() == "2030-01-02T03:04:00+00:00"
    assert t.rounds.get(number=1).opens_at == t.first_round_at


def test_create_tournament_form_errors(login, sponsor):
    response = login(sponsor).post(
        reverse("tournament-create"),
        _create_payload(
            name="",
            submission_window_0="3",
            submission_window_1="days",
            token_symbol="sun!",
            payout_cap="2",
            training_data="",
        ),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) >= {
        "name",
        "submission_window",
        "token_symbol",
        "payout_cap",
        "training_data",
    }
    assert "must not be longer than the round interval" in response.text
    assert "2–12 capital letters or digits." in response.text
    assert not Tournament.objects.exists()


def test_rejected_training_data_creates_nothing(login, sponsor):
    bad = make_frame().drop(columns=["target"])
    response = login(sponsor).post(
        reverse("tournament-create"),
        _create_payload(training_data=SimpleUploadedFile("train.csv", csv_bytes(bad))),
    )
    assert response.status_code == 400
    assert "missing column(s): target" in response.text
    assert not Tournament.objects.exists()
    assert not DatasetVersion.objects.exists()


def test_taken_slug_is_a_conflict(login, sponsor, tournament):
    response = login(sponsor).post(reverse("tournament-create"), _create_payload(slug="weather"))
    assert response.status_code == 409
    assert "a tournament with slug &#x27;weather&#x27; already exists" in response.text
    assert Tournament.objects.count() == 1


def test_dashboard_is_for_the_sponsor_only(client, sponsor, stranger, tournament):
    url = reverse("tournament-dashboard", args=["weather"])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    client.force_login(stranger)
    forbidden = client.get(url)
    assert forbidden.status_code == 403
    assert "only the tournament&#x27;s sponsor can see its dashboard" in forbidden.text
    client.force_login(sponsor)
    ok = client.get(url)
    assert ok.status_code == 200
    assert "Live data for a scheduled round" in ok.text
    assert "Round 1 (opens" in ok.text  # the live-data form offers round 1
    assert '<span class="badge state-missing">missing</span>' in ok.text


@pytest.mark.parametrize(
    "name", ["dashboard-dataset-upload", "dashboard-live-upload", "dashboard-target-upload"]
)
def test_dashboard_uploads_are_for_the_sponsor_only(login, stranger, tournament, name):
    rnd = tournament.rounds.get(number=1)
    response = login(stranger).post(
        reverse(name, args=["weather"]),
        {
            "kind": "validation",
            "round": rnd.pk,
            "day": 1,
            "file": SimpleUploadedFile("v.csv", csv_bytes(make_frame())),
        },
    )
    assert response.status_code == 403
    assert DatasetVersion.objects.count() == 1  # only the training data of the launch
    assert not RoundTarget.objects.exists()


def _upload_row(page: str, upload: SponsorUpload) -> str:
    """The dashboard's row for `upload` (its <tr> … </tr>)."""
    start = page.index(f'<tr id="upload-{upload.pk}"')
    return page[start : page.index("</tr>", start)]


def test_sponsor_uploads_live_data_and_the_round_can_open(
    login, sponsor, tournament, live_frame, check_uploads
):
    rnd = tournament.rounds.get(number=1)
    client = login(sponsor)
    data = csv_bytes(live_frame)
    response = client.post(
        reverse("dashboard-live-upload", args=["weather"]),
        {"round": rnd.pk, "file": SimpleUploadedFile("live.csv", data)},
    )
    assert response.status_code == 302
    page = client.get(response.url).text
    assert (
        f"Live data for round 1 received (live.csv, {len(data):,} bytes): it is being checked "
        "and takes effect once it is ready."
    ) in page
    upload = SponsorUpload.objects.get(kind="live")
    row = _upload_row(page, upload)
    assert '<span class="badge state-processing">processing</span>' in row
    assert "being checked" in row and "round 1" in row
    # The round's live data is still missing (and being checked): it cannot open on it yet.
    assert not DatasetVersion.objects.filter(round=rnd).exists()
    assert '<span class="badge state-missing">missing</span> <span class="badge state-processing">checking</span>' in page

    check_uploads()
    live = DatasetVersion.objects.get(round=rnd)
    assert (live.kind, live.rows) == (DatasetKind.LIVE, 50)
    page = client.get(response.url).text
    row = _upload_row(page, upload)
    assert '<span class="badge state-ready">ready</span>' in row and "v1, 50 rows" in row
    assert "checking" not in page


def test_duplicate_ids_are_rejected_with_the_first_ids(login, sponsor, tournament, check_uploads):
    frame = make_frame()
    frame.loc[3, "id"] = "id000"
    frame.loc[4, "id"] = "id001"
    client = login(sponsor)
    response = client.post(
        reverse("dashboard-dataset-upload", args=["weather"]),
        {"kind": "validation", "file": SimpleUploadedFile("v.csv", csv_bytes(frame))},
    )
    assert response.status_code == 302
    (upload,) = check_uploads()
    assert (upload.state, upload.error_code) == ("rejected", "invalid")
    assert upload.error_details == {"duplicate_ids": 2, "first": ["id000", "id001"]}
    row = _upload_row(client.get(response.url).text, upload)
    assert '<span class="badge state-rejected">rejected</span>' in row
    assert "<code>invalid</code>: 2 duplicate id(s); first: id000, id001" in row
    assert not DatasetVersion.objects.filter(kind="validation").exists()


def test_validation_data_upload(login, sponsor, tournament, check_uploads):
    response = login(sponsor).post(
        reverse("dashboard-dataset-upload", args=["weather"]),
        {"kind": "validation", "file": SimpleUploadedFile("v.csv", csv_bytes(make_frame(seed=3)))},
    )
    assert response.status_code == 302
    assert not DatasetVersion.objects.filter(kind="validation").exists()
    check_uploads()
    assert DatasetVersion.objects.get(kind="validation").version == 1


@pytest.mark.django_db(transaction=True)
def test_an_upload_checked_in_process_says_how_it_went(login, sponsor, tournament):
    # Where tasks run in the web process (the embedded profile: Celery eager), the task runs
    # as the upload's row is committed, so the page answers with the outcome: ready, or
    # refused and why. (A real commit: this test's transaction is not rolled back.)
    client = login(sponsor)
    url = reverse("dashboard-dataset-upload", args=["weather"])
    good = client.post(
        url, {"kind": "validation", "file": SimpleUploadedFile("v.csv", csv_bytes(make_frame(seed=3)))}
    )
    assert "Validation data v1 stored: 50 rows." in client.get(good.url).text
    bad = client.post(
        url,
        {"kind": "validation", "file": SimpleUploadedFile("v.csv", b"id,era,feature_0\nx,\xff,1\n")},
    )
    page = client.get(bad.url).text
    assert '<li class="message error">Validation data (v.csv) was refused: could not read v.csv' in page
    assert DatasetVersion.objects.get(kind="validation").version == 1


def test_targets_for_a_closed_round(login, sponsor, open_round, model, live_ids, check_uploads):
    data = sealed_predictions(open_round, model, live_ids)
    submission_upload(model=model, by=model.owner, data=data, filename="p.csv.sealed")
    round_close(round=open_round, now=open_round.closes_at + timedelta(seconds=1))
    client = login(sponsor)
    page = client.get(reverse("tournament-dashboard", args=["weather"]))
    assert "Round 1 (closed, 0 days scored)" in page.text
    target = {"id": live_ids, "target": [i / 50 for i in range(50)]}
    response = client.post(
        reverse("dashboard-target-upload", args=["weather"]),
        {
            "round": open_round.pk,
            "day": 1,
            "file": SimpleUploadedFile("t.csv", csv_bytes(pd.DataFrame(target))),
        },
    )
    assert response.status_code == 302
    assert "checking day 1" in client.get(response.url).text
    assert not RoundTarget.objects.exists()
    check_uploads()
    assert list(RoundTarget.objects.values_list("day", "rows")) == [(1, 50)]
    assert "days 1" in client.get(reverse("tournament-dashboard", args=["weather"])).text

    short = pd.DataFrame({"id": live_ids[:40], "target": [0.1, 0.9] * 20})
    sent = client.post(
        reverse("dashboard-target-upload", args=["weather"]),
        {"round": open_round.pk, "day": 2, "file": SimpleUploadedFile("t.csv", csv_bytes(short))},
    )
    assert sent.status_code == 302
    (rejected,) = check_uploads()
    row = _upload_row(client.get(sent.url).text, rejected)
    assert "target · round 1, day 2" in row
    assert "<code>invalid</code>: 10 live id(s) missing; first: live040" in row
    assert RoundTarget.objects.count() == 1

    # Refusals that need no reading of the file are answered at once, as before.
    early = client.post(
        reverse("dashboard-target-upload", args=["weather"]),
        {"round": open_round.pk, "day": 3, "file": SimpleUploadedFile("t.csv", csv_bytes(short))},
    )
    assert early.status_code == 400


def test_dashboard_shows_submission_counts(login, sponsor, open_round, model, live_ids):
    for seed in (1, 5):
        data = sealed_predictions(open_round, model, live_ids, seed=seed)
        submission_upload(model=model, by=model.owner, data=data, filename="p.csv.sealed")
    response = login(sponsor).get(reverse("tournament-dashboard", args=["weather"]))
    rounds = {r.number: r for r in response.context["rounds"]}
    assert (rounds[1].n_submissions, rounds[1].n_models) == (2, 1)
    assert open_round.state == RoundState.OPEN
    assert timezone.now() < open_round.closes_at


def test_every_create_field_is_in_a_fieldset():
    from tournaments.forms import TournamentCreateForm

    grouped = [name for _, names in TournamentCreateForm.FIELDSETS for name in names]
    assert sorted(grouped) == sorted(TournamentCreateForm.base_fields)

"""Modelers: register models, stake and release, upload predictions, follow results."""

from datetime import timedelta

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.site.conftest import csv_bytes, predictions_csv
from tournaments.fields import tokens_to_wei
from tournaments.models import ModelSlot, StakeEvent, Submission
from tournaments.services.lifecycle import round_close
from tournaments.services.submissions import submission_upload

pytestmark = pytest.mark.django_db


def _upload(client, model, data: bytes, filename: str = "predictions.csv"):
    return client.post(
        reverse("my-model-upload", args=[model.pk]), {"file": SimpleUploadedFile(filename, data)}
    )


def test_my_models_needs_a_login(client):
    response = client.get(reverse("my-models"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_my_models_lists_stake_latest_submission_and_scores(login, modeler, resolved_round):
    response = login(modeler).get(reverse("my-models"))
    assert response.status_code == 200
    text = response.text
    assert "Weather Signals" in text and "gale-force" in text
    assert "drizzle" not in text  # someone else's
    assert '<td class="num">25</td>' in text  # stake in tokens
    assert "round 1 · " in text and '<span class="tag">counted</span>' in text
    assert "+0.0425" in text and "(R1 d2)" in text and "+0.0175" in text


def test_empty_my_models(login, modeler):
    response = login(modeler).get(reverse("my-models"))
    assert "You have no models yet." in response.text


def test_register_a_model(login, modeler, tournament):
    client = login(modeler)
    page = client.get(reverse("my-model-create"), {"tournament": "weather"})
    assert page.status_code == 200
    assert '<option value="weather" selected>Weather Signals</option>' in page.text
    response = client.post(reverse("my-model-create"), {"tournament": "weather", "name": "breeze"})
    model = ModelSlot.objects.get(name="breeze")
    assert model.owner == modeler and model.tournament == tournament and model.stake == 0
    assert response.status_code == 302 and response.url == reverse("my-model", args=[model.pk])
    assert "Model breeze registered in Weather Signals." in client.get(response.url).text


def test_register_a_model_with_a_bad_or_taken_name(login, modeler, model):
    client = login(modeler)
    bad = client.post(reverse("my-model-create"), {"tournament": "weather", "name": "Big Model!"})
    assert bad.status_code == 400
    assert "must be lowercase letters, digits" in bad.text
    taken = client.post(reverse("my-model-create"), {"tournament": "weather", "name": "gale-force"})
    assert taken.status_code == 409
    assert "a model named &#x27;gale-force&#x27; already exists in weather" in taken.text
    assert ModelSlot.objects.count() == 1


def test_manage_page_is_for_the_owner_only(client, model, stranger, modeler):
    url = reverse("my-model", args=[model.pk])
    client.force_login(stranger)
    assert client.get(url).status_code == 403
    client.force_login(modeler)
    response = client.get(url)
    assert response.status_code == 200
    assert "Upload predictions" in response.text
    assert '<dd id="stake-total">25 WTHR</dd>' in response.text


def test_stake_and_release(login, modeler, model):
    client = login(modeler)
    staked = client.post(reverse("my-model-stake", args=[model.pk]), {"stake-amount": "4.5"})
    assert staked.status_code == 302
    model.refresh_from_db()
    assert model.stake == tokens_to_wei("29.5")
    assert "Staked. Stake is now 29.5 WTHR." in client.get(staked.url).text

    released = client.post(reverse("my-model-release", args=[model.pk]), {"release-amount": "9.5"})
    assert released.status_code == 302
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(20)
    assert list(StakeEvent.objects.filter(model=model).values_list("kind", flat=True)) == [
        "release",
        "deposit",
        "deposit",
    ]


def test_stake_form_errors(login, modeler, model):
    client = login(modeler)
    zero = client.post(reverse("my-model-stake", args=[model.pk]), {"stake-amount": "0"})
    assert zero.status_code == 400
    assert "must be more than zero" in zero.text
    too_much = client.post(reverse("my-model-release", args=[model.pk]), {"release-amount": "26"})
    assert too_much.status_code == 409
    assert "only 25 WTHR (25000000000000000000 wei) can be released now" in too_much.text
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_locked_stake_cannot_be_released(login, modeler, model, open_round, live_ids):
    submission_upload(model=model, by=modeler, data=predictions_csv(live_ids), filename="p.csv")
    round_close(round=open_round, now=open_round.closes_at + timedelta(seconds=1))
    response = login(modeler).post(
        reverse("my-model-release", args=[model.pk]), {"release-amount": "1"}
    )
    assert response.status_code == 409
    assert "only 0 WTHR (0 wei) can be released now; 25 WTHR" in response.text
    assert "backs unsettled rounds" in response.text


def test_cannot_stake_on_another_users_model(login, stranger, model):
    response = login(stranger).post(
        reverse("my-model-stake", args=[model.pk]), {"stake-amount": "1"}
    )
    assert response.status_code == 403
    model.refresh_from_db()
    assert model.stake == tokens_to_wei(25)


def test_upload_predictions_for_the_open_round(login, modeler, model, open_round, live_ids):
    client = login(modeler)
    response = _upload(client, model, predictions_csv(live_ids))
    assert response.status_code == 302
    submission = Submission.objects.get(model=model)
    assert (submission.round, submission.rows, submission.state) == (open_round, 50, "valid")
    page = client.get(response.url)
    assert "Predictions accepted for round 1: 50 rows." in page.text
    assert f'<tr id="submission-{submission.pk}">' in page.text


def test_rejected_upload_shows_the_problem_and_keeps_the_previous_submission(
    login, modeler, model, open_round, live_ids, settings
):
    client = login(modeler)
    assert _upload(client, model, predictions_csv(live_ids)).status_code == 302
    previous = Submission.objects.get(model=model)
    blobs_before = sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file())

    bad = pd.DataFrame(
        {"id": live_ids[:48] + ["ghost-1"], "prediction": [0.5] * 46 + [1.7, -0.2, 0.3]}
    )
    response = _upload(client, model, csv_bytes(bad))
    assert response.status_code == 400
    text = response.text
    assert "outside [0, 1]" in text
    assert "row 47 (id live046): &#x27;1.7&#x27;" in text  # first offending rows with their ids
    assert "&#x27;ghost-1&#x27; (row 49)" in text
    assert "2 of 50 live ids are missing" in text
    assert '<tr class="problem" data-code="out_of_range">' in text
    assert Submission.objects.filter(model=model).count() == 1
    assert Submission.objects.get(model=model) == previous
    assert sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file()) == blobs_before
    assert "Your last valid upload before close counts" in text


def test_constant_and_unreadable_files_are_rejected(login, modeler, model, open_round, live_ids):
    client = login(modeler)
    constant = csv_bytes(pd.DataFrame({"id": live_ids, "prediction": 0.5}))
    response = _upload(client, model, constant)
    assert response.status_code == 400
    assert "a constant submission cannot be ranked" in response.text
    wrong_type = _upload(client, model, b"id,prediction\n", filename="predictions.txt")
    assert wrong_type.status_code == 400
    assert "expected a .csv or .parquet file" in wrong_type.text
    assert not Submission.objects.exists()


def test_upload_with_no_open_round_is_a_conflict(login, modeler, model, tournament, live_ids):
    response = _upload(login(modeler), model, predictions_csv(live_ids))
    assert response.status_code == 409
    assert "no round is open for submissions" in response.text
    assert not Submission.objects.exists()


def test_cannot_upload_for_another_users_model(login, stranger, model, open_round, live_ids):
    response = _upload(login(stranger), model, predictions_csv(live_ids))
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_manage_page_shows_scores_payouts_and_chart(login, modeler, resolved_round):
    model = resolved_round.models[0]
    response = login(modeler).get(reverse("my-model", args=[model.pk]))
    assert response.status_code == 200
    text = response.text
    assert "No round is open for submissions right now." in text
    assert "+1.25" in text and "+0.0425" in text
    assert text.count('<g class="series series-') == 2
    assert '<span class="tag">counted</span>' in text

"""Modelers: register models, stake and release, upload predictions, follow results."""

from datetime import timedelta

import pandas as pd
import pytest
from arena_client.cid import cid_for_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.money import tokens_to_wei
from tests.builders import csv_bytes, predictions_csv, seal_for, sealed_predictions
from tournaments.models import ModelSlot, RoundKey, StakeEvent, Submission
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
    data = sealed_predictions(open_round, model, live_ids)
    submission_upload(model=model, by=modeler, data=data, filename="p.csv.sealed")
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


def test_upload_form_seals_in_the_browser_with_the_round_key(login, modeler, model, open_round):
    page = login(modeler).get(reverse("my-model", args=[model.pk]))
    assert page.status_code == 200
    text = page.text
    public_key = RoundKey.objects.get(round=open_round).public_key
    assert f'data-public-key="{public_key}"' in text
    assert 'data-tournament="weather"' in text and 'data-round="1"' in text
    assert f'data-model-id="{model.pk}"' in text
    assert f'data-api-url="/api/models/{model.pk}/submissions"' in text
    assert '<script type="module" src="/static/js/upload.mjs"></script>' in text
    # Without JavaScript the page says why a plaintext file cannot be sent.
    assert "Without JavaScript this form cannot seal your file" in text
    assert "a plaintext file is refused" in text


def test_upload_a_sealed_file_without_javascript(login, modeler, model, open_round, live_ids):
    client = login(modeler)
    envelope = sealed_predictions(open_round, model, live_ids)
    response = _upload(client, model, envelope, filename="predictions.csv.sealed")
    assert response.status_code == 302
    submission = Submission.objects.get(model=model)
    assert (submission.round, submission.state, submission.cid) == (
        open_round, "received", cid_for_bytes(envelope)
    )
    page = client.get(response.url)
    assert (
        f"Sealed predictions received for round 1 ({submission.cid}); they are opened and "
        "checked when the round closes." in page.text
    )
    assert f'<tr id="submission-{submission.pk}">' in page.text
    assert "sealed until the round closes" in page.text

    round_close(round=open_round, now=open_round.closes_at)
    submission.refresh_from_db()
    assert (submission.state, submission.rows) == ("valid", 50)
    page = client.get(response.url)
    assert 'class="badge state-valid"' in page.text


def test_plaintext_is_refused_and_keeps_the_previous_submission(
    login, modeler, model, open_round, live_ids, settings
):
    client = login(modeler)
    assert _upload(client, model, sealed_predictions(open_round, model, live_ids)).status_code == 302
    previous = Submission.objects.get(model=model)
    blobs_before = sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file())

    response = _upload(client, model, predictions_csv(live_ids), filename="predictions.csv")
    assert response.status_code == 400
    assert (
        "this is a plaintext predictions file: the platform accepts only predictions sealed "
        "to the round&#x27;s public key" in response.text
    )
    garbage = _upload(client, model, b"\x00" * 80, filename="x.sealed")
    assert garbage.status_code == 400
    assert "malformed envelope: not an Arena envelope: starts with" in garbage.text
    assert Submission.objects.get(model=model) == previous
    assert sorted(p.name for p in settings.BLOB_DIR.rglob("*") if p.is_file()) == blobs_before


def test_broken_predictions_show_their_problems_after_close(
    login, modeler, model, open_round, live_ids
):
    client = login(modeler)
    bad = pd.DataFrame(
        {"id": live_ids[:48] + ["ghost-1"], "prediction": [0.5] * 46 + [1.7, -0.2, 0.3]}
    )
    response = _upload(client, model, seal_for(open_round, model, csv_bytes(bad)))
    assert response.status_code == 302  # sealed: nobody can judge it before close
    round_close(round=open_round, now=open_round.closes_at)
    submission = Submission.objects.get(model=model)
    assert submission.state == "invalid"
    text = client.get(reverse("my-model", args=[model.pk])).text
    assert 'class="badge state-invalid"' in text
    assert "outside [0, 1]" in text
    assert "row 47 (id &#x27;live046&#x27;): &#x27;1.7&#x27;" in text  # the first offending rows
    assert "&#x27;ghost-1&#x27; (row 49)" in text
    assert "2 of 50 live ids are missing" in text


def test_a_constant_file_is_invalid_after_close(login, modeler, model, open_round, live_ids):
    constant = csv_bytes(pd.DataFrame({"id": live_ids, "prediction": 0.5}))
    assert _upload(login(modeler), model, seal_for(open_round, model, constant)).status_code == 302
    round_close(round=open_round, now=open_round.closes_at)
    submission = Submission.objects.get()
    assert submission.state == "invalid"
    assert submission.error.endswith("a constant submission cannot be ranked, so it cannot be scored")


def test_upload_with_no_open_round_is_a_conflict(login, modeler, model, tournament):
    response = _upload(login(modeler), model, b"ARNS\x01" + b"\x00" * 80)
    assert response.status_code == 409
    assert "no round is open for submissions" in response.text
    assert not Submission.objects.exists()


def test_cannot_upload_for_another_users_model(login, stranger, model, open_round, live_ids):
    response = _upload(login(stranger), model, sealed_predictions(open_round, model, live_ids))
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

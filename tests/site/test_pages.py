"""Public pages render for anonymous and logged-in visitors, with their key facts."""

import pytest
from django.urls import reverse

from tournaments.models import DatasetKind

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["anonymous", "logged-in"])
def visitor(request, client, stranger):
    if request.param == "logged-in":
        client.force_login(stranger)
    return client


def test_home_explains_arena_and_lists_tournaments_and_rounds(visitor, open_round):
    response = visitor.get(reverse("home"))
    assert response.status_code == 200
    text = response.text
    assert "meta-model" in text
    assert "Weather Signals" in text
    assert reverse("round-detail", args=["weather", 1]) in text
    assert 'class="badge state-open"' in text


def test_home_nav_depends_on_login(client, stranger):
    anonymous = client.get(reverse("home")).text
    assert reverse("signup") in anonymous and reverse("my-models") not in anonymous
    client.force_login(stranger)
    logged_in = client.get(reverse("home")).text
    assert reverse("my-models") in logged_in and reverse("api-keys") in logged_in
    assert reverse("api-docs") in logged_in
    assert f'action="{reverse("logout")}"' in logged_in


def test_tournament_list(visitor, tournament):
    response = visitor.get(reverse("tournament-list"))
    assert response.status_code == 200
    assert "Weather Signals" in response.text
    assert "500 WTHR" in response.text  # reward pool in tokens
    assert "every 1 day" in response.text


def test_tournament_page_shows_schedule_rules_current_round_and_data(visitor, open_round):
    response = visitor.get(reverse("tournament-detail", args=["weather"]))
    assert response.status_code == 200
    text = response.text
    assert "Predict tomorrow&#x27;s &lt;weather&gt; from today&#x27;s readings." in text  # escaped
    assert "12 hours" in text and "2, every 1 hour" in text
    assert "0.5·CORR + 2.0·MMC" in text
    assert "min(1, 100 WTHR / total stake)" in text
    assert 'data-countdown datetime="' + open_round.closes_at.isoformat() in text
    assert "Submissions close" in text
    # current data: training and the open round's live data, each downloadable
    kinds = [d.kind for d in response.context["datasets"]]
    assert kinds == [DatasetKind.TRAINING, DatasetKind.LIVE]
    for d in response.context["datasets"]:
        assert reverse("dataset-download", args=["weather", d.pk]) in text
    assert reverse("leaderboard", args=["weather"]) in text
    assert 'id="round-1" data-round="1" data-state="open"' in text
    assert "Sponsor dashboard" not in text


def test_tournament_page_links_the_dashboard_for_its_sponsor(login, sponsor, tournament):
    text = login(sponsor).get(reverse("tournament-detail", args=["weather"])).text
    assert reverse("tournament-dashboard", args=["weather"]) in text
    assert "waiting for its live data" in text


def test_unknown_tournament_is_404(client, db):
    response = client.get(reverse("tournament-detail", args=["nope"]))
    assert response.status_code == 404
    assert "Not found" in response.text


def test_dataset_download_returns_the_stored_file(client, open_round, live_frame):
    live = open_round.live_dataset
    response = client.get(reverse("dataset-download", args=["weather", live.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="weather-live-v1.csv"'
    assert response["X-Content-CID"] == live.cid
    assert response.content == live_frame.to_csv(index=False).encode()


def test_live_data_of_a_scheduled_round_is_only_for_the_sponsor(
    client, tournament, sponsor, live_frame
):
    from tests.builders import csv_bytes
    from tournaments.services.datasets import dataset_upload

    rnd = tournament.rounds.get(number=1)
    live = dataset_upload(
        tournament=tournament,
        by=sponsor,
        kind="live",
        round=rnd,
        data=csv_bytes(live_frame),
        filename="l.csv",
    )
    url = reverse("dataset-download", args=["weather", live.pk])
    hidden = client.get(url)
    assert hidden.status_code == 404
    assert "published when the round opens" in hidden.text
    client.force_login(sponsor)
    assert client.get(url).status_code == 200


def test_open_round_page(visitor, open_round, model, live_ids):
    from tests.builders import sealed_predictions
    from tournaments.services.submissions import submission_upload

    data = sealed_predictions(open_round, model, live_ids)
    submission_upload(model=model, by=model.owner, data=data, filename="p.csv.sealed")
    response = visitor.get(reverse("round-detail", args=["weather", 1]))
    assert response.status_code == 200
    text = response.text
    assert "Round 1" in text and 'class="badge state-open"' in text
    assert '<dd id="count-submissions">1</dd>' in text
    assert '<dd id="count-models">1</dd>' in text
    assert "Not scored yet." in text
    # Payouts appear once resolved: the section waits hidden, for the live page to fill it.
    assert '<section data-live-section="payouts" hidden>' in text
    assert 'id="payouts"' not in text
    assert response.context["transitions"][0].to_state == "open"


def test_resolved_round_page_shows_meta_corr_per_day_scores_and_payouts(visitor, resolved_round):
    response = visitor.get(reverse("round-detail", args=["weather", 1]))
    assert response.status_code == 200
    text = response.text
    assert 'class="badge state-resolved"' in text
    assert '<tr id="score-day-1"><td>1</td><td class="num">+0.0210</td>' in text
    assert '<tr id="score-day-2"><td>2</td><td class="num">+0.0333</td>' in text
    # latest day's scores, best first
    scores = response.context["scores"]
    assert [s.model.name for s in scores] == ["gale-force", "drizzle"]
    assert "+0.0425" in text and "−0.0155" in text
    assert "Payouts" in text
    assert "+1.25" in text and "−0.5" in text
    assert "2 submissions counted" in text  # from the close transition's log


def test_leaderboard_rows_have_stable_ids_and_data_for_live_updates(visitor, resolved_round):
    model, rival = resolved_round.models
    response = visitor.get(reverse("leaderboard", args=["weather"]))
    assert response.status_code == 200
    text = response.text
    assert 'data-ws-path="/ws/tournaments/weather/leaderboard/"' in text
    assert 'data-metric="corr" data-last-n="4"' in text
    assert f'<tr id="model-{model.id}" data-model-id="{model.id}" data-model="gale-force"' in text
    assert f'<tr id="model-{rival.id}" data-model-id="{rival.id}" data-model="drizzle"' in text
    assert text.index(f'id="model-{model.id}"') < text.index(f'id="model-{rival.id}"')
    assert 'data-field="score">+0.0425</td>' in text
    assert 'data-rank="1"' in text and 'data-rank="2"' in text


def test_leaderboard_ranks_by_the_chosen_metric(client, resolved_round):
    model, rival = resolved_round.models
    response = client.get(
        reverse("leaderboard", args=["weather"]), {"metric": "payout", "last_n": 1}
    )
    assert response.status_code == 200
    assert response.context["metric"] == "payout"
    rows = response.context["rows"]
    assert [r["model"] for r in rows] == ["gale-force", "drizzle"]
    assert "+5.00%" in response.text  # 1.25 of 25 staked
    assert "−5.00%" in response.text  # −0.5 of 10


def test_leaderboard_form_reports_a_bad_choice_and_falls_back(client, resolved_round):
    response = client.get(reverse("leaderboard", args=["weather"]), {"metric": "luck", "last_n": 0})
    assert response.status_code == 200
    assert "Select a valid choice. luck is not one of the available choices." in response.text
    assert "Ensure this value is greater than or equal to 1." in response.text
    assert response.context["metric"] == "corr" and response.context["last_n"] == 4


def test_empty_leaderboard(client, tournament):
    response = client.get(reverse("leaderboard", args=["weather"]))
    assert response.status_code == 200
    assert "No scored rounds yet." in response.text


def test_model_profile_has_owner_stake_history_and_svg_chart(visitor, resolved_round):
    response = visitor.get(reverse("model-profile", args=["weather", "gale-force"]))
    assert response.status_code == 200
    text = response.text
    assert "mo-modeler" in text
    assert '<dd id="stake">25 WTHR</dd>' in text
    assert "<svg" in text and "CORR and MMC per round" in text
    assert text.count('<g class="series series-') == 2
    assert '<tr id="history-round-1">' in text
    assert "+0.0425" in text and "+1.25" in text
    assert "Manage this model" not in text  # visitors are not the owner


def test_model_profile_links_its_owner_to_the_manage_page(login, modeler, model):
    text = login(modeler).get(reverse("model-profile", args=["weather", "gale-force"])).text
    assert "Manage this model" in text and reverse("my-model", args=[model.pk]) in text


def test_model_profile_of_a_new_model(client, model):
    response = client.get(reverse("model-profile", args=["weather", "gale-force"]))
    assert response.status_code == 200
    assert "No scores yet" in response.text
    assert "has not taken part in a round yet" in response.text


def test_static_assets_are_local(client, db):
    text = client.get(reverse("home")).text
    assert "/static/css/arena.css" in text and "/static/js/arena.mjs" in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text

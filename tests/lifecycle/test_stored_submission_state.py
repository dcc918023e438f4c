"""An upload's row is inserted without the ORM's compiler (core/lean_sql.insert_row); the
instance the service returns must still behave as one Model.save() stored."""

from tests.builders import sealed_predictions
from tournaments.models import Submission
from tournaments.services.submissions import submission_upload


def test_the_returned_submission_is_a_saved_row(open_round, model, live_ids):
    stored = submission_upload(
        model=model, by=model.owner, data=sealed_predictions(open_round, model, live_ids), filename="p.csv"
    )
    assert (stored._state.adding, stored._state.db) == (False, "default")
    stored.full_clean()  # not taken for a duplicate of itself
    stored.filename = "renamed.csv"
    stored.save(update_fields=["filename"])  # an UPDATE of the same row, not a second INSERT
    assert list(Submission.objects.filter(model=model).values_list("pk", "filename")) == [
        (stored.pk, "renamed.csv")
    ]

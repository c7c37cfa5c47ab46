"""The publication labels of the models (kinds, orderings, outcomes, mandatory fields) exist in English."""
from flask_babel import force_locale

from models.publication import (MANDATORY_FIELD_LABELS, MEDIUM_KINDS, ORDERING_LABELS, OUTCOME_LABELS,
                                SELECTION_MODE_LABELS)


def test_publication_labels_are_french_by_default_and_english_on_request(app):
    with app.test_request_context():
        assert str(OUTCOME_LABELS["limit_reached"]) == "Limite atteinte"
        with force_locale("en"):
            assert str(OUTCOME_LABELS["limit_reached"]) == "Limit reached"
            assert str(ORDERING_LABELS["stock_age_youngest"]) == "Stock age: youngest first"
            assert str(MANDATORY_FIELD_LABELS["gearbox"]) == "Gearbox"
            for labels in (MANDATORY_FIELD_LABELS, MEDIUM_KINDS, ORDERING_LABELS, OUTCOME_LABELS,
                           SELECTION_MODE_LABELS):
                with force_locale("fr"):
                    french = {k: str(v) for k, v in labels.items()}
                untranslated = [k for k, v in labels.items()
                                if str(v) == french[k] and french[k] not in ("Description", "Version", "Scoring",
                                                                             "Google Vehicle Listings")]
                assert not untranslated, untranslated

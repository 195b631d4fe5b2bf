"""ecgsk/_notes.py: the readers' warnings as the command lines' note lines."""

import warnings

import pytest

from ecgsk._notes import warnings_as_notes


def test_user_warnings_become_notes_and_others_are_warned_again(capsys):
    with pytest.warns(DeprecationWarning, match="old"):
        with warnings_as_notes(where="under /data"):
            warnings.warn("ptbxl: left out 2 of 9 records (2 without a label).", UserWarning)
            warnings.warn("old", DeprecationWarning)
    assert capsys.readouterr().err == (
        "note: ptbxl: left out 2 of 9 records (2 without a label) under /data.\n")


def test_quiet_drops_the_notes_and_a_failing_block_still_says_them(capsys):
    with warnings_as_notes(quiet=True):
        warnings.warn("left out 1", UserWarning)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="nothing left"):
        with warnings_as_notes():
            warnings.warn("left out 3 of 3 records.", UserWarning)
            raise ValueError("nothing left")
    assert capsys.readouterr().err == "note: left out 3 of 3 records.\n"


def test_a_subclass_of_user_warning_goes_through_the_users_filters(capsys):
    # scikit-learn's InconsistentVersionWarning (a model pickled by another version) is a
    # UserWarning: made a note, it escaped a filter that made it an error, and --quiet
    # dropped it.
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            with warnings_as_notes(quiet=True):
                warnings.warn(InconsistentVersionWarning(
                    estimator_name="LogisticRegression", current_sklearn_version="1.9",
                    original_sklearn_version="0.24"))
    assert capsys.readouterr().err == ""


def test_said_keeps_a_note_from_being_printed_twice(capsys):
    # compare's pipelines share one test set: its note was printed once per pipeline.
    said = set()
    for _ in range(2):
        with warnings_as_notes(said=said):
            warnings.warn("class(es) HYP have no positive record among the test records.",
                          UserWarning)
            warnings.warn("left out 1 record.", UserWarning)
    assert capsys.readouterr().err == (
        "note: class(es) HYP have no positive record among the test records.\n"
        "note: left out 1 record.\n")
    assert said == {"class(es) HYP have no positive record among the test records.",
                    "left out 1 record."}

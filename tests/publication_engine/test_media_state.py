"""Per-vehicle media state clicks (§6.4): every allowed click and every forbidden one."""
import itertools

import pytest

from models.media_state import (DISPLAY_STATES, ForbiddenTransition, StoredState, allowed_transitions,
                                apply_transition, display_state, select_all)

ALLOWED_FOR_DEALERS = {
    "P": {"S"},  # cancel the priority
    "S": {"D", "P"},
    "D": {"S", "P"},
    "F": {"P"},  # the custom filter can only be overridden by a priority
    "FM": set(),  # media filter: read-only
    "SA": set(),  # imposed by the admin: read-only
}


@pytest.mark.parametrize("display,target", list(itertools.product(DISPLAY_STATES, ("P", "S", "D"))))
def test_every_dealer_click(display, target):
    if target in ALLOWED_FOR_DEALERS[display]:
        assert apply_transition(display, target).state in (target, None)
    else:
        with pytest.raises(ForbiddenTransition):
            apply_transition(display, target)


@pytest.mark.parametrize("display", DISPLAY_STATES)
def test_a_locked_flag_is_read_only_for_dealers(display):
    assert allowed_transitions(display, locked=True) == frozenset()
    for target in "PSD":
        with pytest.raises(ForbiddenTransition):
            apply_transition(display, target, locked=True)


def test_admins_may_change_an_imposed_selection_but_never_the_media_filter():
    assert allowed_transitions("SA", is_admin=True) == {"D", "P"}
    assert allowed_transitions("S", locked=True, is_admin=True) == {"D", "P"}
    assert allowed_transitions("FM", is_admin=True) == frozenset()
    # the admin's click keeps the imposition: dealers still cannot change it
    assert apply_transition("SA", "D", is_admin=True, admin_imposed=True) == StoredState("D", True)
    assert apply_transition("D", "S", locked=True, is_admin=True) == StoredState("S", True)


def test_forbidden_click_has_a_french_message():
    with pytest.raises(ForbiddenTransition, match="Filtre média"):
        apply_transition("FM", "P")
    with pytest.raises(ForbiddenTransition, match="imposée"):
        apply_transition("SA", "D")
    with pytest.raises(ForbiddenTransition, match="non autorisé"):
        apply_transition("F", "S")


def test_selecting_is_the_default_in_automatic_mode_and_a_row_in_manual_mode():
    assert apply_transition("D", "S", selection_mode="auto") == StoredState(None, False)
    assert apply_transition("D", "S", selection_mode="manual") == StoredState("S", False)
    assert apply_transition("P", "S", selection_mode="manual") == StoredState("S", False)
    assert apply_transition("S", "D") == StoredState("D", False)
    assert apply_transition("F", "P") == StoredState("P", False)


DISPLAY_CASES = [
    # (outcome, stored, admin_locked, admin_imposed) → (display, locked)
    (("filtered_media", "P", False, False), ("FM", True)),
    (("sent", "P", False, False), ("P", False)),
    (("sent", None, False, False), ("S", False)),
    (("sent", "S", False, False), ("S", False)),
    (("limit_reached", None, False, False), ("S", False)),
    (("deselected", "D", False, False), ("D", False)),
    (("filtered_custom", None, False, False), ("F", False)),
    (("not_selected", None, False, False), ("D", False)),
    (("sent", "S", True, False), ("SA", True)),
    (("sent", None, False, True), ("SA", True)),
    (("sent", "D", False, True), ("SA", True)),  # a dealer's D does not count under an imposed selection
    (("deselected", "D", True, True), ("D", True)),
    ((None, "D", False, False), ("D", False)),  # not a candidate (e.g. status ARR): the stored choice
    ((None, None, False, False), ("S", False)),
]


@pytest.mark.parametrize("args,expected", DISPLAY_CASES)
def test_display_state(args, expected):
    assert display_state(*args) == expected


def test_select_all_and_deselect_all_of_a_vehicle():
    flags = {1: ("S", False), 2: ("D", False), 3: ("FM", True), 4: ("SA", True), 5: ("F", False),
             6: ("P", False)}
    changes, skipped = select_all(flags, select=False)
    assert changes == {1: StoredState("D", False)} and sorted(skipped) == [2, 3, 4, 5, 6]
    changes, skipped = select_all(flags, select=True, selection_modes={2: "manual"})
    assert changes == {2: StoredState("S", False), 6: StoredState(None, False)}
    assert sorted(skipped) == [1, 3, 4, 5]

"""The stemmed terms drafting, the decision and the reply metrics share."""

from __future__ import annotations

import pytest

from autocrm.pipeline.text import terms


@pytest.mark.parametrize(
    ("compared", "base"),
    [("weaker", "weak"), ("biggest", "big"), ("hotter", "hot"), ("coarser", "coarse")],
)
def test_a_comparative_is_its_adjective(compared, base):
    assert terms(compared) == terms(base)


def test_words_with_another_meaning_keep_their_form():
    # "no longer works" is not about length, "a lighter roast" not about weight
    assert terms("longer") != terms("long")
    assert terms("lighter") != terms("light")


@pytest.mark.parametrize("form", ["notify", "notified", "notifies", "notifying"])
def test_notify_is_the_word_notifications_are(form):
    """ "what would it notify me about?" asks about "Notifications tell you when …": Snowball
    stems them apart ("notifi", "notif")."""
    assert terms(form) == terms("notifications") == terms("notification")

"""Towns of Great Britain named as where a customer is (pipeline/towns.py, GeoNames data)."""

from __future__ import annotations

import pytest

from autocrm.pipeline.towns import great_britain_towns, in_great_britain


@pytest.mark.parametrize(
    "text",
    [
        "We're in Stockport.",
        "a new-build outside Harrogate",
        "before he went off to uni in Glasgow",
        "moving from Swindon",
    ],
)
def test_a_town_of_great_britain_named_as_where_someone_is(text):
    assert in_great_britain().search(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sale items can't be returned?",  # a town's name, but no place said
        "Reading the label, it says 30 days",
        "I live in Washington",  # bigger elsewhere
        "I'm in Perth",
        "We're in Belfast",  # Northern Ireland: a zone of its own
        "I'm in Madrid",
    ],
)
def test_no_town_of_great_britain(text):
    assert not in_great_britain().search(text)


def test_the_gazetteer_holds_hundreds_of_towns():
    towns = great_britain_towns()
    assert len(towns) > 500
    assert {"Stockport", "Inverness", "Harrogate"} <= towns
    assert not {"Boston", "Belfast"} & towns

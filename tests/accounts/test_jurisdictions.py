"""The jurisdiction tree keeps each node's county, so scoping is one comparison."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Jurisdiction, Organisation, Role, User

from ..factories import OrganisationFactory, jurisdiction_chain

pytestmark = pytest.mark.django_db


def test_every_node_below_a_county_knows_its_county():
    chain = jurisdiction_chain()
    county = chain["county"]
    assert chain["province"].county_id is None
    assert chain["city"].county_id is None
    assert county.county_id == county.pk
    assert chain["township"].county_id == county.pk
    assert chain["village"].county_id == county.pk
    assert Jurisdiction.objects.get(pk=county.pk).county_id == county.pk


def test_levels_must_nest():
    chain = jurisdiction_chain()
    village_under_county = Jurisdiction(code="x1", name="错村", level="village", parent=chain["county"])
    with pytest.raises(ValidationError):
        village_under_county.full_clean()
    orphan = Jurisdiction(code="x2", name="孤县", level="county")
    with pytest.raises(ValidationError):
        orphan.full_clean()


def test_user_role_must_match_organisation_kind():
    firm = OrganisationFactory(kind=Organisation.Kind.FIRM)
    with pytest.raises(ValidationError):
        User(username="a", role=Role.BROKER_OWNER, organisation=firm).full_clean(exclude=["password"])
    with pytest.raises(ValidationError):
        User(username="b", role=Role.WORKER, organisation=firm).full_clean(exclude=["password"])
    User(username="c", role=Role.FIRM_MEMBER, organisation=firm).full_clean(exclude=["password"])


def test_filter_by_parent(client_for, personas):
    county = personas.home["county"]
    response = client_for(personas.broker).get(f"/api/jurisdictions/?parent={county.pk}")
    assert [row["level"] for row in response.json()["results"]] == ["township"]



"""factory_boy factories for every app's models so far."""
from __future__ import annotations

import datetime as dt

import factory
from django.conf import settings
from django.utils import timezone

from accounts.models import Jurisdiction, Organisation, Role, User
from brokers.models import Membership, WorkMode, Worker

TEST_PASSWORD = "correct horse battery staple"


def joined_on() -> dt.date:
    """When the test workers joined their broker: 1 January of last year (local date), so every
    month a test logs in (this one, last month, the month before last) is within their
    membership whatever the date."""
    return dt.date(timezone.localdate().year - 1, 1, 1)


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction

    code = factory.Sequence(lambda n: f"T{n:08d}")
    name = factory.Sequence(lambda n: f"地区{n}")
    level = Jurisdiction.Level.PROVINCE
    parent = None


def jurisdiction_chain(county_name: str = "遂昌县") -> dict[str, Jurisdiction]:
    """province > city > county > township > village, fresh each call (shares nothing)."""
    province = JurisdictionFactory(level=Jurisdiction.Level.PROVINCE, name="浙江省")
    city = JurisdictionFactory(level=Jurisdiction.Level.CITY, name="丽水市", parent=province)
    county = JurisdictionFactory(level=Jurisdiction.Level.COUNTY, name=county_name, parent=city)
    township = JurisdictionFactory(level=Jurisdiction.Level.TOWNSHIP, name=f"{county_name}某镇", parent=county)
    village = JurisdictionFactory(level=Jurisdiction.Level.VILLAGE, name=f"{county_name}某村", parent=township)
    return {"province": province, "city": city, "county": county, "township": township, "village": village}


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = Organisation.Kind.BROKER
    name = factory.Sequence(lambda n: f"机构{n}")
    jurisdiction = factory.SubFactory(JurisdictionFactory, level=Jurisdiction.Level.COUNTY)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.FIRM_MEMBER
    organisation = None
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    name = factory.Sequence(lambda n: f"工人{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    national_id = factory.Sequence(lambda n: f"33112319800101{n:04d}")
    village = None
    work_mode = WorkMode.HOME
    household_tags = factory.LazyFunction(list)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    started_on = factory.LazyFunction(joined_on)
    ended_on = None


assert settings  # keep the import: factories run only with Django configured

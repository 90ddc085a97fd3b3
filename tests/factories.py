import factory
from allauth.account.models import EmailAddress
from django.conf import settings

from accounts.models import Role, Specialty, User
from cases.models import Case, Status


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    role = Role.FAMILY
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.COORDINATOR)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or settings.DEMO_PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


def specialty(slug: str = "cardiology") -> Specialty:
    # get_or_create: transactional tests flush the rows the data migration seeded.
    return Specialty.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


class CaseFactory(factory.django.DjangoModelFactory):
    """Builds a case directly in any status: fixtures only; code moves status via lifecycle."""

    class Meta:
        model = Case

    status = Status.SUBMITTED
    family = factory.SubFactory(UserFactory)
    created_by = factory.LazyAttribute(lambda o: o.family)
    physician_email = "physician@example.com"
    specialty = factory.LazyFunction(specialty)

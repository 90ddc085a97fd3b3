from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from localflavor.us.models import USStateField
from stdnum import luhn


class Role(models.TextChoices):
    FAMILY = "family", "Family (parent or guardian)"
    PHYSICIAN = "physician", "Local physician"
    COORDINATOR = "coordinator", "Case coordinator"
    SPECIALIST = "specialist", "Specialist"


STAFF_ROLES = frozenset({Role.COORDINATOR, Role.SPECIALIST})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("role", Role.FAMILY)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.update(is_staff=True, is_superuser=True, role=Role.COORDINATOR)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. The email is the login; the role decides what they may reach.

    Roles are a field rather than groups because every access decision branches on exactly
    one of them; coordinators additionally get ``is_staff`` and the coordinator permission
    group (accounts.roles) so the Django admin works for them.
    """

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FAMILY)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Specialty(models.Model):
    """A clinical specialty families can ask for and specialists practise (admin-editable)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=100)
    # Shown to families on the records step before the general list (intake/checklists.py);
    # coordinators keep it current in the console, so it is data rather than code.
    records_checklist = models.TextField(
        "what usually helps",
        blank=True,
        help_text="Records that usually help a specialist in this field, one per line. "
        "Families see them on the records step, before the general list.",
    )

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name

    @property
    def records_checklist_items(self) -> list[str]:
        return [line.strip() for line in self.records_checklist.splitlines() if line.strip()]


def validate_npi(value: str) -> None:
    """An NPI is 10 digits whose last is a Luhn check over "80840" + the first nine (CMS)."""

    if not (len(value) == 10 and value.isdigit() and luhn.is_valid("80840" + value)):
        raise ValidationError("Enter a valid 10-digit National Provider Identifier.")


phone_validator = RegexValidator(
    r"^\+?[0-9 ().-]{7,25}$", "Enter a phone number, for example 555-123-4567."
)


class PhysicianProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="physician_profile")
    full_name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=60, help_text="For example MD, DO.")
    npi = models.CharField("NPI", max_length=10, blank=True, validators=[validate_npi])
    practice = models.CharField(max_length=200)
    phone = models.CharField(max_length=30, validators=[phone_validator])
    licence_state = USStateField("state of licence")

    def __str__(self) -> str:
        return f"{self.full_name}, {self.credentials}"


class SpecialistProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="specialist_profile")
    title = models.CharField(max_length=200, help_text="For example Attending Cardiologist.")
    credentials = models.CharField(max_length=60, blank=True)
    specialties = models.ManyToManyField(Specialty, related_name="specialists", blank=True)
    accepting_cases = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user.get_full_name()} ({self.title})"

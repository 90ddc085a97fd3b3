from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from localflavor.us.forms import USZipCodeField
from localflavor.us.us_states import US_STATES

from accounts.models import Role, Specialty, User
from cases.models import RecordRequest

from .models import Intake, Question, Record, StateEligibility, age_on

STATE_CHOICES = [("", "Choose a state")] + [(c, str(n)) for c, n in US_STATES]


class StartForm(forms.ModelForm):
    not_urgent = forms.BooleanField(
        label="I understand this service is not for urgent care. For urgent or emergent "
        "issues I will call 911 or seek local medical care.",
    )
    english = forms.BooleanField(
        label="I understand that records must be in English and the report will be in English."
    )

    class Meta:
        model = Intake
        fields: list[str] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.instance.not_urgent_attested_at and not self.is_bound:
            self.initial.update(not_urgent=True, english=self.instance.english_acknowledged)

    def save(self, commit: bool = True) -> Intake:
        intake = super().save(commit=False)
        intake.not_urgent_attested_at = intake.not_urgent_attested_at or timezone.now()
        intake.english_acknowledged = True
        if commit:
            intake.save()
        return intake


class EligibilityForm(forms.ModelForm):
    residence = forms.ModelChoiceField(
        queryset=StateEligibility.objects.all(),
        label="Where does your child live?",
        empty_label="Choose a state or territory",
        help_text="The state, district or territory of your child's home address.",
    )

    class Meta:
        model = Intake
        fields = ["residence"]

    def clean_residence(self) -> StateEligibility:
        residence: StateEligibility = self.cleaned_data["residence"]
        if not residence.is_available:
            self.refusal = residence
            raise forms.ValidationError(
                residence.reason or "We cannot offer the online service there yet."
            )
        return residence


class ChildForm(forms.ModelForm):
    child_legal_first_name = forms.CharField(label="Legal first name", max_length=100)
    child_legal_last_name = forms.CharField(label="Legal last name", max_length=100)
    child_date_of_birth = forms.DateField(
        label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    address_line1 = forms.CharField(label="Street address", max_length=200)
    address_city = forms.CharField(label="City", max_length=100)
    address_state = forms.ChoiceField(label="State", choices=STATE_CHOICES)
    address_zip = USZipCodeField(label="ZIP code")
    guardian_name = forms.CharField(label="Your full name", max_length=200)
    guardian_phone = forms.CharField(label="Your phone number", max_length=30)
    guardian_attested = forms.BooleanField(
        label="I am this child's parent or legal guardian and able to consent to this "
        "consultation for them (or I am the patient and 18 or older)."
    )

    class Meta:
        model = Intake
        fields = [
            "child_legal_first_name",
            "child_legal_last_name",
            "child_preferred_name",
            "child_date_of_birth",
            "child_sex",
            "address_line1",
            "address_line2",
            "address_city",
            "address_state",
            "address_zip",
            "guardian_name",
            "guardian_relationship",
            "guardian_phone",
        ]
        labels = {
            "child_preferred_name": "Preferred name (optional)",
            "child_sex": "Sex",
            "address_line2": "Apartment, suite (optional)",
            "guardian_relationship": "Your relationship to the child",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["child_sex"].required = True
        self.fields["guardian_relationship"].required = True
        if self.instance.guardian_attested_at and not self.is_bound:
            self.initial["guardian_attested"] = True

    def clean_child_date_of_birth(self) -> date:
        born: date = self.cleaned_data["child_date_of_birth"]
        today = timezone.localdate()
        if born >= today:
            raise forms.ValidationError("The date of birth must be in the past.")
        if age_on(born, today) > 120:
            raise forms.ValidationError("Please check the year of birth.")
        return born

    def clean(self) -> dict:
        data = super().clean() or {}
        residence = self.instance.residence
        state = data.get("address_state")
        if residence and state and state != residence.code:
            self.add_error(
                "address_state",
                f"The home address must be in {residence.name}, the state you chose in "
                "the eligibility step. If your child lives elsewhere, change that step first.",
            )
        return data

    def save(self, commit: bool = True) -> Intake:
        intake = super().save(commit=False)
        intake.guardian_attested_at = intake.guardian_attested_at or timezone.now()
        if commit:
            intake.save()
        return intake


class PhysicianForm(forms.ModelForm):
    physician_name = forms.CharField(label="Physician's full name", max_length=200)
    physician_email = forms.EmailField(
        label="Physician's email",
        help_text="They will receive an invitation and, later, the report at this address.",
    )
    physician_phone = forms.CharField(label="Physician's phone", max_length=30)
    physician_practice = forms.CharField(label="Practice or hospital", max_length=200)
    physician_specialty = forms.CharField(
        label="Their specialty",
        max_length=120,
        help_text="For example pediatrics, family medicine or pediatric cardiology.",
    )
    physician_licence_state = forms.ChoiceField(label="State of licence", choices=STATE_CHOICES)

    field_order = [
        "physician_name",
        "physician_email",
        "physician_phone",
        "physician_practice",
        "physician_specialty",
        "physician_licence_state",
    ]

    class Meta:
        model = Intake
        fields = [
            "physician_name",
            "physician_phone",
            "physician_practice",
            "physician_specialty",
            "physician_licence_state",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not self.is_bound:
            self.initial["physician_email"] = self.instance.case.physician_email
        self.fields["physician_phone"].validators = self.instance._meta.get_field(
            "physician_phone"
        ).validators

    def clean(self) -> dict:
        data = super().clean() or {}
        residence = self.instance.residence
        state = data.get("physician_licence_state")
        if residence and state and state != residence.code:
            self.add_error(
                "physician_licence_state",
                f"The physician must be licensed in {residence.name}, where your child lives: "
                "second opinions are given physician to physician within the family's state.",
            )
        return data

    def save(self, commit: bool = True) -> Intake:
        intake = super().save(commit=False)
        intake.case.physician_email = self.cleaned_data["physician_email"].strip().lower()
        if commit:
            intake.case.save(update_fields=["physician_email", "updated_at"])
            intake.save()
        return intake


class SpecialistChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        profile = getattr(obj, "specialist_profile", None)
        title = f", {profile.title}" if profile else ""
        return f"{obj.get_full_name()}{title}"


class MedicalQuestionForm(forms.ModelForm):
    specialty = forms.ModelChoiceField(
        queryset=Specialty.objects.filter(is_active=True),
        label="Which specialty should review your child's case?",
        empty_label="Choose a specialty",
    )
    diagnosis = forms.CharField(
        label="Current diagnosis", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    recommended_treatment = forms.CharField(
        label="Treatment or surgery that has been recommended",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    tried_so_far = forms.CharField(
        label="What has been tried so far (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
    )
    preferred_specialist = SpecialistChoice(
        queryset=User.objects.none(),
        required=False,
        label="A specialist you would like (optional)",
        empty_label="No preference",
        help_text="We will try to honour your request, and tell you before anything is "
        "charged if we cannot.",
    )
    preferred_specialist_text = forms.CharField(
        label="Or name a specialist not in the list (optional)", max_length=200, required=False
    )

    field_order = [
        "specialty",
        "diagnosis",
        "recommended_treatment",
        "tried_so_far",
        "preferred_specialist",
        "preferred_specialist_text",
    ]

    class Meta:
        model = Intake
        fields = [
            "diagnosis",
            "recommended_treatment",
            "tried_so_far",
            "preferred_specialist",
            "preferred_specialist_text",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["preferred_specialist"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                role=Role.SPECIALIST, is_active=True, specialist_profile__accepting_cases=True
            )
            .select_related("specialist_profile")
            .order_by("full_name")
        )
        if not self.is_bound:
            self.initial["specialty"] = self.instance.case.specialty_id

    def save(self, commit: bool = True) -> Intake:
        intake = super().save(commit=False)
        intake.case.specialty = self.cleaned_data["specialty"]
        if commit:
            intake.case.save(update_fields=["specialty", "updated_at"])
            intake.save()
        return intake


class QuestionForm(forms.ModelForm):
    text = forms.CharField(
        label="Your question",
        min_length=Question.MIN_LENGTH,
        max_length=Question.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Between 10 and 1,000 characters. Be as clear and specific as you can.",
    )

    class Meta:
        model = Question
        fields = ["text"]


class RecordUploadForm(forms.Form):
    """A file through Django (≤ 50 MB). On a case with open record requests, the family or
    physician may say which requested item the file answers (ticking it off)."""

    file = forms.FileField(
        # Where larger files go depends on the page (uploader or coordinator): it says so.
        label="File",
        help_text="Up to 50 MB here.",
    )
    kind = forms.ChoiceField(label="What is it?", choices=[("", "Choose"), *Record.Kind.choices])
    description = forms.CharField(
        label="Short description (optional)",
        max_length=300,
        required=False,
        help_text="For example: MRI brain, March 2026.",
    )
    for_request: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None,  # set per case in __init__
        required=False,
        label="Which requested item is this? (optional)",
        empty_label="Not for a specific request",
    )

    def __init__(
        self, *args: Any, case: Any = None, requested: list[Any] | None = None, **kwargs: Any
    ) -> None:
        """``requested``: the case's record requests when the page has read them already,
        so the form need not ask whether any is open."""
        super().__init__(*args, **kwargs)
        field = self.fields["for_request"]
        open_requests = (
            RecordRequest.objects.filter(case=case, received_at__isnull=True, by_mail=False)
            if case is not None
            else RecordRequest.objects.none()
        )
        field.queryset = open_requests  # type: ignore[attr-defined]
        if requested is not None:
            any_open = any(r.received_at is None and not r.by_mail for r in requested)
        else:
            any_open = case is not None and open_requests.exists()
        if not any_open:
            del self.fields["for_request"]


class RecordsDeclarationForm(forms.ModelForm):
    class Meta:
        model = Intake
        fields = ["records_from_physician", "mailing_imaging_cd", "mailing_pathology_slides"]
        labels = {
            "records_from_physician": "Records will also come from our physician or hospital",
            "mailing_imaging_cd": "We will mail a CD or DVD of imaging",
            "mailing_pathology_slides": "We will mail pathology slides or blocks",
        }


class ConsentForm(forms.ModelForm):
    terms = forms.BooleanField(label="I accept the terms of the online second opinion service.")
    records_use = forms.BooleanField(
        label="I authorise the hospital to use the records I send to prepare this opinion."
    )
    no_relationship = forms.BooleanField(
        label="I understand that this opinion does not create a doctor-patient relationship "
        "with the specialist, and that my child's own physician remains responsible for their care."
    )

    class Meta:
        model = Intake
        fields: list[str] = []

    def save(self, commit: bool = True) -> Intake:
        intake = super().save(commit=False)
        now = timezone.now()
        intake.terms_accepted_at = intake.terms_accepted_at or now
        intake.records_use_authorised_at = intake.records_use_authorised_at or now
        intake.no_relationship_acknowledged_at = intake.no_relationship_acknowledged_at or now
        if commit:
            intake.save()
        return intake


class InviteForm(forms.Form):
    email = forms.EmailField(label="Their email address")


class LinkRequestForm(forms.Form):
    reference = forms.RegexField(
        label="Case reference",
        regex=r"^OSO-[A-Z0-9]{4}-[A-Z0-9]{4}$",
        help_text="Shaped like OSO-ABCD-2345.",
        error_messages={"invalid": "Enter a reference shaped like OSO-ABCD-2345."},
    )
    date_of_birth = forms.DateField(
        label="The child's date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_reference(self) -> str:
        return str(self.cleaned_data["reference"]).upper()


STEP_FORMS: dict[str, type[forms.ModelForm]] = {
    "start": StartForm,
    "eligibility": EligibilityForm,
    "child": ChildForm,
    "physician": PhysicianForm,
    "question": MedicalQuestionForm,
}

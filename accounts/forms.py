from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.http import HttpRequest

from .models import Role, User
from .roles import user_set_role

SIGNUP_ROLES = [
    (Role.FAMILY.value, "A parent or legal guardian (or the patient, 18 or older)"),
    (Role.PHYSICIAN.value, "The child's physician"),
]


class SignupForm(AllauthSignupForm):
    """allauth's sign-up with one more question: family or physician. Staff accounts are
    never self-made; an administrator gives those roles."""

    # Not required: a family (the common case) need not answer, the radio starts on it.
    role = forms.ChoiceField(
        label="I am",
        choices=SIGNUP_ROLES,
        initial=Role.FAMILY,
        widget=forms.RadioSelect,
        required=False,
    )
    field_order = ["role", "email", "password1", "password2"]

    def save(self, request: HttpRequest) -> User:
        user: User = super().save(request)
        if self.cleaned_data["role"] == Role.PHYSICIAN:
            user_set_role(user=user, role=Role.PHYSICIAN)
        return user

from allauth.account.views import SignupView as AllauthSignupView
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .forms import SIGNUP_ROLES


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html")


class SignupView(AllauthSignupView):
    """Invitation links open sign-up with the invited email and role filled in."""

    def get_initial(self) -> dict:
        initial = super().get_initial()
        email = self.request.GET.get("email", "")
        if email and "@" in email and len(email) <= 254:
            initial["email"] = email
        role = self.request.GET.get("role", "")
        if role in dict(SIGNUP_ROLES):
            initial["role"] = role
        return initial


signup = SignupView.as_view()

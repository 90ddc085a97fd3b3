from django.urls import path

from . import views

urlpatterns = [
    path("profile/", views.profile, name="account_profile"),
    # Listed before allauth's URLs so this name wins: sign-up with invitation prefill.
    path("signup/", views.signup, name="account_signup"),
]

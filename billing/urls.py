"""Site-wide billing URLs, under ``billing/``: Stripe's webhook (signed, not a session)."""

from django.urls import path

from . import views

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]

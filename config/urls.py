from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from billing import document_views as billing_document_views

from . import health

# The admin is the coordinator console: its login goes through allauth so that MFA and
# allauth's rate limits apply there too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Online Second Opinion — coordinator console"
admin.site.site_title = "Coordinator console"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("billing/refund-policy/", billing_document_views.refund_policy, name="refund_policy"),
    path("billing/", include("billing.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    # The request form first: its "new/" and "link/" are not case references.
    path("cases/", include("intake.urls")),
    path("cases/", include("cases.urls")),
    path("cases/<str:reference>/billing/documents/", include("billing.document_urls")),
    path("cases/<str:reference>/billing/", include("billing.case_urls")),
    path("cases/<str:reference>/report/", include("reports.portal_urls")),
    path("workspace/", include("reports.workspace_urls")),
    path("admin/", admin.site.urls),
    path("slides/", include("slides.urls")),
]

# The study viewer: the page is case-scoped (the gate, one audit row); its instance and
# header requests carry a short-lived grant instead (imaging/viewer_views.py).
urlpatterns += [
    path("workspace/<str:reference>/studies/", include("imaging.viewer_urls")),
    path("imaging/", include("imaging.urls")),
]

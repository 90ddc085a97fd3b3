from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "HOSPITAL_NAME": settings.HOSPITAL_NAME,
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "SUPPORT_HOURS": settings.SUPPORT_HOURS,
        "IN_PERSON_PHONE": settings.IN_PERSON_PHONE,
        "TRANSFER_PHONE": settings.TRANSFER_PHONE,
        "direct_uploads": bool(getattr(default_storage, "bucket_name", None)),
    }

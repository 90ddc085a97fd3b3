import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the current six-digit code for the demo staff accounts' TOTP secret."

    def handle(self, *args: object, **options: object) -> None:
        counter = int(time.time()) // 30
        self.stdout.write(format_hotp_value(hotp_value(settings.DEMO_TOTP_SECRET, counter)))

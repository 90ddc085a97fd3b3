"""Walk the audit log's hash chains; exit 1 naming the first broken link of each chain."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cases.audit_chain import verify


class Command(BaseCommand):
    help = "Check that no audit log row was changed or removed (exit status 1 if one was)."

    def handle(self, *args: Any, **options: Any) -> None:
        broken = list(verify())
        if broken:
            for link in broken:
                self.stderr.write(f"Broken audit chain: {link}")
            # CommandError makes call_command raise and the command line exit with status 1.
            raise CommandError(f"{len(broken)} audit chain(s) broken; first: {broken[0]}")
        self.stdout.write(self.style.SUCCESS("Audit chains intact."))

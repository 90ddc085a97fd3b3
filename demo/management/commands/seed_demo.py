from django.core.management.base import BaseCommand

from accounts.demo import demo_people_ensure, demo_specialists_ensure
from billing.demo import demo_billing_ensure, demo_card_save
from demo.scenario import demo_lifecycle_ensure
from imaging.demo import demo_imaging_ensure
from intake.demo import demo_intake_ensure
from reports.demo import demo_reports_ensure
from slides.demo import demo_slides_ensure


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo accounts and cases. Safe to run repeatedly."

    def handle(self, *args: object, **options: object) -> None:
        people = demo_people_ensure()
        self.stdout.write(f"Demo accounts ready: {', '.join(sorted(people))}")
        cases = (
            demo_intake_ensure(people, card_save=demo_card_save)
            + demo_billing_ensure(people)
            + demo_lifecycle_ensure(people)
            + demo_reports_ensure(people)
            + demo_slides_ensure(people)
        )
        demo_imaging_ensure(people)
        self.stdout.write(f"Demo requests added: {len(cases)}")
        # After the cases, so the demo requests' specialists stay as they were.
        more = demo_specialists_ensure()
        self.stdout.write(f"Demo specialists ready: {', '.join(sorted(more))}")

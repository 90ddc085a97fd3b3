"""The outbox model moves to core (core 0001 takes it over): only Django's record of which app
owns it changes; the table, ``cases_outboundemail``, and its rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_outboundemail_about")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboundEmail")],
            database_operations=[],
        )
    ]

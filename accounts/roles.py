"""What each staff role may do in the admin, and the one service that sets a user's role.

Coordinator permissions are declared here and synced to the "Coordinators" group after
every migrate, so a new model's permissions are granted by adding one line.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import Role, User

COORDINATOR_GROUP = "Coordinators"

# (app_label, codename) pairs. View-only where coordinators must not edit by hand.
COORDINATOR_PERMISSIONS: list[tuple[str, str]] = [
    ("accounts", "view_user"),
    ("accounts", "change_user"),
    ("accounts", "view_specialty"),
    ("accounts", "add_specialty"),
    ("accounts", "change_specialty"),
    ("accounts", "view_physicianprofile"),
    ("accounts", "view_specialistprofile"),
    ("accounts", "change_specialistprofile"),
    ("cases", "view_case"),
    ("cases", "change_case"),
    ("cases", "view_timelineevent"),
    ("cases", "view_accessevent"),
    ("cases", "view_outboundemail"),
    ("cases", "view_casemember"),
    ("cases", "view_hospitalclosure"),
    ("cases", "add_hospitalclosure"),
    ("cases", "change_hospitalclosure"),
    ("cases", "delete_hospitalclosure"),
    ("cases", "view_turnaroundpolicy"),
    ("cases", "change_turnaroundpolicy"),
    ("billing", "view_fee"),
    ("billing", "add_fee"),
    ("billing", "change_fee"),
    ("billing", "view_casebilling"),
    ("billing", "change_casebilling"),
    ("billing", "add_refund"),
    ("billing", "view_refund"),
    ("billing", "view_paymentattempt"),
    ("billing", "view_webhookevent"),
    ("billing", "view_stripecustomer"),
    ("intake", "view_stateeligibility"),
    ("intake", "change_stateeligibility"),
    ("intake", "view_intake"),
    ("intake", "view_question"),
    ("intake", "change_question"),
    ("intake", "view_record"),
    ("intake", "view_physicianlinkrequest"),
    ("intake", "change_physicianlinkrequest"),
    # Reports are read-only in the console: reopening and closing are case-page buttons.
    ("reports", "view_report"),
    ("reports", "view_followupquestion"),
    ("reports", "view_reportopening"),
    ("imaging", "view_study"),
    ("imaging", "view_series"),
    ("imaging", "view_recordindex"),
    ("imaging", "change_recordindex"),
]


def coordinator_group_sync() -> Group:
    group, _ = Group.objects.get_or_create(name=COORDINATOR_GROUP)
    # One query for all of them (user_set_role runs this at every role change), then the
    # pairs kept: a codename alone is not unique across apps.
    wanted_pairs = set(COORDINATOR_PERMISSIONS)
    candidates = Permission.objects.filter(
        codename__in={codename for _, codename in wanted_pairs}
    ).select_related("content_type")
    group.permissions.set(
        [p for p in candidates if (p.content_type.app_label, p.codename) in wanted_pairs]
    )
    return group


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Give a user a role, with the admin flags and group that role implies."""
    user.role = role
    user.is_staff = role == Role.COORDINATOR or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    group = coordinator_group_sync()
    if role == Role.COORDINATOR:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    return user

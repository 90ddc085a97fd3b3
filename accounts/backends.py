"""The sign-in backend (allauth's), with each user's admin permissions kept in the cache.

Django's ``ModelBackend`` reads a user's permissions with two queries (their own and their
groups') on every request that checks one: every console page, for a coordinator whose
permissions change a few times a year. Here the set is cached per user; any change to a
group's permissions, a user's groups or own permissions, a group or a permission moves a
generation number that every key carries, so a change counts from the next request. The
time limit covers what no signal sees (a raw SQL update, another deployment's cache).

The signed-in user is read with whether they have an authenticator (``has_authenticator``,
for the staff MFA rule in accounts.middleware): one query where there were two on every
staff page, and as fresh as before (read on every request, never cached).
"""

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import User

GENERATION_KEY = "accounts:perms:generation"
PERMS_TTL = 300


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, None)
        generation = cache.get(GENERATION_KEY, 1)
    return int(generation)


def permissions_changed() -> None:
    """Every cached permission set is stale from now on."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # not set yet: nothing cached under a generation either
        cache.add(GENERATION_KEY, 1, None)


class CachedPermissionsBackend(AuthenticationBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = (
            User._default_manager.annotate(
                has_authenticator=Exists(Authenticator.objects.filter(user=OuterRef("pk")))
            )
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            # The account's creation time in the key: a test database (or a restored
            # one) may give a new account the id of one whose set is still cached.
            key = (
                f"accounts:perms:{_generation()}:{user_obj.pk}:"
                f"{user_obj.date_joined.timestamp()}:{int(user_obj.is_superuser)}"
            )
            perms = cache.get(key)
            if perms is None:
                perms = super().get_all_permissions(user_obj)
                cache.set(key, perms, PERMS_TTL)
            user_obj._perm_cache = set(perms)
        return user_obj._perm_cache


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.perms.user_groups")
@receiver(
    m2m_changed, sender=User.user_permissions.through, dispatch_uid="accounts.perms.user_perms"
)
@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="accounts.perms.group")
@receiver(post_save, sender=Group, dispatch_uid="accounts.perms.group_saved")
@receiver(post_delete, sender=Group, dispatch_uid="accounts.perms.group_deleted")
@receiver(post_save, sender=Permission, dispatch_uid="accounts.perms.perm_saved")
@receiver(post_delete, sender=Permission, dispatch_uid="accounts.perms.perm_deleted")
def _permissions_changed(**kwargs: Any) -> None:
    permissions_changed()

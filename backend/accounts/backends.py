"""Log in with a username or a phone number."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


def account_for(identifier: str):
    """The user whose username or phone number is `identifier`, or None."""
    User = get_user_model()
    return User.objects.filter(Q(username=identifier) | Q(phone=identifier)).order_by("id").first()


class UsernameOrPhoneBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = account_for(username)
        if user is None:
            # one hash, as a real check costs: no user enumeration by timing
            get_user_model()().set_password(password)
            return None
        # always the hash, also for an inactive user: the same time and the same answer
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

"""Login throttles: per client address, and per username (from any address), so that neither
one machine nor a botnet can guess a password quickly."""
from collections.abc import Mapping

from rest_framework.throttling import SimpleRateThrottle


class LoginIPThrottle(SimpleRateThrottle):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SimpleRateThrottle):
    scope = "login_username"

    def get_cache_key(self, request, view):
        # runs before the view validates the body: it may be any JSON value (then the view says 400)
        data = getattr(request, "data", None)
        username = data.get("username") if isinstance(data, Mapping) else None
        # what LoginSerializer's CharField would accept (it turns a number into its digits)
        is_text = isinstance(username, (str, int, float)) and not isinstance(username, bool)
        username = str(username).strip().lower() if is_text else ""
        if not username:
            return None
        return self.cache_format % {"scope": self.scope, "ident": username[:150]}

"""Messages that Django itself sends and whose zh_Hans translation Django 5.2's own catalogue
lacks (5.2 changed the string; the catalogue still has the old one). Marked here so that
`makemessages` keeps them in ours (LOCALE_PATHS is read before Django's own catalogues)."""
from django.utils.translation import ngettext


def _marked(n: int) -> None:  # never called: makemessages reads the strings
    ngettext("This password is too short. It must contain at least %d character.",
             "This password is too short. It must contain at least %d characters.", n)

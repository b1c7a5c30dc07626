"""The API's JSON parser: a request body is one JSON object, nested at most `MAX_DEPTH` deep.

DRF's own parser hands any JSON value to the view (a list or `null` then breaks code that
expects a mapping) and lets a deeply nested body raise RecursionError (a 500). Both are 400s
in the one error shape here."""
from __future__ import annotations

import codecs
import json

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.utils import json as drf_json

# Deep enough for any body the API takes (a bulk of piece-log rows is 3 levels).
MAX_DEPTH = 64


def depth_of(value) -> int:
    """How deeply `value` nests lists and objects (a scalar is 0), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:  # no need to walk further
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        from .errors import BodyNotParsed  # not at the top: core.errors imports DRF's views, which import this

        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except RecursionError:
            raise self._too_deep() from None
        except ValueError:  # bad syntax, bad encoding, NaN, an integer of thousands of digits
            raise BodyNotParsed() from None
        if not isinstance(data, dict):
            raise BodyNotParsed(_("The request body must be a JSON object."), code="body_not_object")
        if depth_of(data) > MAX_DEPTH:
            raise self._too_deep()
        return data

    @staticmethod
    def _too_deep():
        from .errors import BodyNotParsed

        return BodyNotParsed(_("The request body is nested too deeply (at most %(depth)d levels)."),
                             code="body_too_deep", params={"depth": MAX_DEPTH})

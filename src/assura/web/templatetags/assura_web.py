"""Template helpers of the web shell."""

from __future__ import annotations

from django import template

from assura.web.context import optional_reverse

register = template.Library()


@register.simple_tag
def optional_url(url_name: str, *args: object) -> str:
    """`{% optional_url "app:name" as link %}`: the URL, or "" while that page does not exist.

    Home pages link to features that arrive later; the link shows once its page does.
    """
    return optional_reverse(url_name, *args)

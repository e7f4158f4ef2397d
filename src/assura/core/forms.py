"""What every app's forms share."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def show_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's validation errors beside the fields they name, the rest above the form.

    Services validate (views never do), so a view hands what a service refused to this,
    and the person sees each message where it belongs, in the form they just filled in.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for message in messages:
            form.add_error(target, message)

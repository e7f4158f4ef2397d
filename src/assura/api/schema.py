"""The OpenAPI document: every operation declares the error responses it can give.

Each operation lists 400, 401, 403, 404, 409 and 429 with the one error body of
`assura.api.errors`, besides its own success response, so a client generated from the
schema knows every answer it may get. The bearer token is declared as the security
scheme.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_RESPONSES: dict[str, str] = {
    "400": "The request is invalid; `fields` names each invalid field with its messages.",
    "401": "No token, or the token is unknown, revoked or belongs to an inactive person.",
    "403": "The token's owner may not do this.",
    "404": "No such record, or it is outside the caller's organisation.",
    "409": "The request conflicts with an earlier one (e.g. an Idempotency-Key reused with "
    "another body).",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_authenticated, authentication_failed, "
        "permission_denied, not_found, idempotency_conflict, throttled, method_not_allowed…"
    )
    message = serializers.CharField(help_text="A sentence in the client's language.")


# `fields` is also the name of a Serializer property, so the field is declared by hand.
ErrorBodySerializer._declared_fields["fields"] = serializers.DictField(
    child=serializers.ListField(child=serializers.CharField()),
    help_text="Messages per request field (empty when the error is not about fields).",
)


class ErrorSerializer(serializers.Serializer[Any]):
    """The one error body of the API."""

    error = ErrorBodySerializer()


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error responses on every operation."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in ERROR_RESPONSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=description),
                    code,
                    direction=direction,
                )
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "assura.api.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "asr_…",
            "description": "A personal API token: `Authorization: Bearer asr_…`. Create one on "
            "the API tokens page or with POST /api/v1/tokens/.",
        }

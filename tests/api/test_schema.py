"""The OpenAPI document is valid and complete; its reference page needs nothing remote."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

DECLARED_ERRORS = {"400", "401", "403", "404", "409", "429"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_document_validates_against_the_openapi_3_schema(document: dict[str, Any]) -> None:
    validate_schema(document)
    assert document["openapi"].startswith("3.")


def test_the_schema_generates_without_a_warning(tmp_path: Any) -> None:
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s"))


def test_every_operation_declares_the_error_responses(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        assert set(operation["responses"]) >= DECLARED_ERRORS, f"{method} {path}"
        for code in DECLARED_ERRORS:
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_every_operation_is_secured_by_the_bearer_token(document: dict[str, Any]) -> None:
    """Except what is public on purpose (declared with an empty requirement only)."""
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for path, method, operation in operations(document):
        if operation["security"] == [{}]:
            continue
        assert {"bearerToken": []} in operation["security"], f"{method} {path}"
    cases = document["paths"]["/api/v1/cases/"]["get"]
    assert {"bearerToken": []} in cases["security"]


def test_every_property_has_a_type(document: dict[str, Any]) -> None:
    """A property without a type (or a reference, or a choice of types) is not described."""
    untyped = []
    for name, component in document["components"]["schemas"].items():
        for field, spec in component.get("properties", {}).items():
            if not ({"type", "$ref", "allOf", "oneOf", "anyOf", "enum"} & set(spec)):
                untyped.append(f"{name}.{field}")
    assert untyped == [], ", ".join(untyped)


def test_cases_are_addressed_by_reference(document: dict[str, Any]) -> None:
    case_paths = [path for path in document["paths"] if path.startswith("/api/v1/cases/{")]
    assert case_paths
    assert all(path.startswith("/api/v1/cases/{reference}/") for path in case_paths)
    create = document["paths"]["/api/v1/cases/"]["post"]
    assert {"200", "201", "409"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])


@pytest.mark.django_db
def test_the_schema_is_served_without_authentication() -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "assura API"


@pytest.mark.django_db
def test_the_reference_page_loads_only_local_assets() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)

"""The two forms as pydantic models, built from their declarations in
forms.py with forms.py's text rules: the OpenAPI document's request schemas,
and what the form posts' check (forms.check) is held to, field by field
(tests/unit/test_forms.py). Nothing a visitor's request runs imports this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from . import forms


def _error(refused: forms.Refused) -> PydanticCustomError:
    """A forms.py refusal as the pydantic error of the same type."""
    return PydanticCustomError(refused.kind, "refused: {kind}", {"kind": refused.kind})


def _refusing(rule: Callable[[str], str]) -> Callable[[str], str]:
    """A forms.py rule as a pydantic validator."""

    def validator(value: str) -> str:
        try:
            return rule(value)
        except forms.Refused as refused:
            raise _error(refused) from None

    return validator


_BLANK_IS_ABSENT = BeforeValidator(forms.blank_as_absent)
_SOFT_HYPHENS_DROPPED = BeforeValidator(forms.drop_soft_hyphens)
EmailAddress = Annotated[
    str,
    _SOFT_HYPHENS_DROPPED,
    Field(max_length=forms.MAX_EMAIL_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(_refusing(forms.address)),
]


def _kind(field: forms.Field) -> Any:
    """The type of one kind of field, with its limit."""
    if field.kind == forms.LINE:
        return Annotated[
            str,
            _SOFT_HYPHENS_DROPPED,
            Field(max_length=field.limit),
            AfterValidator(_refusing(forms.one_line)),
        ]
    if field.kind == forms.TEXT:
        return Annotated[str, BeforeValidator(forms.normalise_lines), Field(max_length=field.limit)]
    return {forms.EMAIL: EmailAddress, forms.FORMAT: forms.Format, forms.HONEYPOT: str}[field.kind]


def _declared(field: forms.Field) -> tuple[Any, Any]:
    """A field's annotation and default, as create_model takes them."""
    kind = _kind(field) if field.needed else _kind(field) | None
    options: dict[str, Any] = {"alias": field.alias} if field.alias else {}
    if field.name == forms.OTHER_FORMAT:
        options["validate_default"] = True  # its rule applies when it is not given too
    annotation = Annotated[kind, _BLANK_IS_ABSENT, Field(description=field.description, **options)]  # type: ignore[valid-type]
    return annotation, ... if field.needed else None


def _needed_for_other(cls: type, value: str | None, info: ValidationInfo) -> str | None:
    try:
        return forms.other_format_chosen(info.data.get("format"), value)
    except forms.Refused as refused:
        raise _error(refused) from None


def _model(kind: str, name: str) -> type[BaseModel]:
    validators: dict[str, Any] = {}
    declared: dict[str, Any] = {field.name: _declared(field) for field in forms.FORMS[kind]}
    if any(field.name == forms.OTHER_FORMAT for field in forms.FORMS[kind]):
        validators["needed_for_other"] = field_validator(forms.OTHER_FORMAT)(_needed_for_other)
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True),
        __doc__=forms.DESCRIPTIONS[kind],
        __module__=__name__,
        __validators__=validators,
        **declared,
    )


EnquiryRequest = _model(forms.ENQUIRY, "EnquiryRequest")
AccessibleFormatRequest = _model(forms.ACCESSIBLE_FORMAT_REQUEST, "AccessibleFormatRequest")
MODELS: dict[str, type[BaseModel]] = {
    forms.ENQUIRY: EnquiryRequest,
    forms.ACCESSIBLE_FORMAT_REQUEST: AccessibleFormatRequest,
}

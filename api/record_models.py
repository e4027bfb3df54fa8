"""Request bodies derived from the core's records, so the API's schema cannot drift from them.

A new record may leave out fields the service sets itself; a change (PATCH) names only the fields
it changes, each validated as the core validates it. The store validates the whole record again
once the change is merged, so the core's cross-field checks still apply.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from api.schema import RequestBody


def record_without(
    model: type[BaseModel], name: str, leave_out: Collection[str], doc: str
) -> type[BaseModel]:
    """`model` without the fields `leave_out`, which the request may not give."""
    fields = {
        field: (info.annotation, info)
        for field, info in model.model_fields.items()
        if field not in leave_out
    }
    return create_model(name, __base__=RequestBody, __doc__=doc, **fields)


def record_changes(
    model: type[BaseModel], name: str, fixed: Collection[str], doc: str
) -> type[BaseModel]:
    """Every field of `model` but `fixed`, each optional: absent means unchanged. A field the
    core requires may not be set to null."""
    fields = {
        field: (
            info.annotation,
            FieldInfo.merge_field_infos(info, default=None, default_factory=None, **_NO_DEFAULT),
        )
        for field, info in model.model_fields.items()
        if field not in fixed
    }
    return create_model(name, __base__=RequestBody, __doc__=doc, **fields)


def _drop_default(schema: dict[str, Any]) -> None:
    # The default of None only marks "not given"; it is no value the API accepts for the field.
    schema.pop("default", None)


_NO_DEFAULT = {"json_schema_extra": _drop_default}


def changes_of(body: BaseModel) -> dict[str, Any]:
    """The fields a change names, as JSON; 422 when it names none."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "name at least one field to change", "type": "value_error"}]
        )
    return changes

"""Bokeh's property defaults, resolved once per class instead of on every read.

A dashboard session builds ~180 Bokeh models and serialises them; about four fifths of its
time went to Bokeh's property machinery, most of it resolving defaults: every read of a
property a model has not set walks the class's MRO to merge its overridden defaults
(``HasProps._overridden_defaults``), copies the raw default and validates it again
(``Property.prepare_value``), and serialising a model reads every property. For a property
whose default is *stable* (not a function, a container or a model: Bokeh's own criterion,
``PropertyDescriptor.has_unstable_default``) and that no theme overrides, the result depends
only on the model's class and the property, so it is kept per (class, property) here:
returned as it is when immutable (numbers, text, enumerations, ``Undefined``, tuples of
them), as a shallow copy otherwise (a dash pattern's list, a tool's modifiers: Bokeh hands
each read a fresh copy of those, and so does this). Unstable defaults (Bokeh keeps each
instance's own copy) and themed values take Bokeh's own path, untouched.

:func:`install` patches three methods of the installed Bokeh (the third,
``has_unstable_default``, is asked for every property of every new model and depends on the
class alone); it does nothing (and says so) when Bokeh's internals are not the ones it was
written against, so a Bokeh upgrade can only make the dashboard slower, never wrong.
``tests/functional/test_bokeh_defaults.py`` checks that a session's document serialises to the
same JSON with and without it.
"""

from __future__ import annotations

import copy
import enum
import logging
from typing import Any

log = logging.getLogger(__name__)

_installed = False
STABLE, EMPTY, OWN = 0, 1, 2  # how a cached default is handed out (see install)
_originals: dict[str, Any] = {}


def _immutable(value: Any) -> bool:
    from bokeh.core.property.singletons import Undefined

    if value is None or value is Undefined or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, enum.Enum):
        return True
    return isinstance(value, tuple) and all(_immutable(v) for v in value)


def _compatible() -> bool:
    from bokeh.core.has_props import HasProps
    from bokeh.core.property.descriptors import PropertyDescriptor

    needed = (
        (HasProps, "_overridden_defaults"),
        (HasProps, "themed_values"),
        (PropertyDescriptor, "_get_default"),
        (PropertyDescriptor, "instance_default"),
        (PropertyDescriptor, "has_unstable_default"),
    )
    return all(hasattr(owner, name) for owner, name in needed)


def install() -> bool:
    """Patch Bokeh (once per process); ``False`` when its internals do not match."""
    global _installed
    if _installed:
        return True
    if not _compatible():
        log.info("bokeh_defaults: this Bokeh's internals differ; defaults resolved as usual")
        return False
    from bokeh.core.has_props import HasProps
    from bokeh.core.property.descriptors import PropertyDescriptor
    from bokeh.core.property.wrappers import PropertyValueDict, PropertyValueList, PropertyValueSet

    _CONTAINERS = (PropertyValueDict, PropertyValueList, PropertyValueSet)
    overridden: dict[type, dict[str, Any]] = {}
    original_overridden = HasProps._overridden_defaults.__func__  # type: ignore[attr-defined]

    def _overridden_defaults(cls: type[HasProps]) -> dict[str, Any]:
        # a class's overridden defaults are fixed when the class is made (HasProps' metaclass)
        found = overridden.get(cls)
        if found is None:
            found = overridden[cls] = original_overridden(cls)
        return found

    # (descriptor id, class) -> (how, the value, the value is immutable); how: STABLE (the
    # value), EMPTY (a fresh empty container of the value's type, owned by the model) or OWN
    # (Bokeh's own path: a model made by a function, a container with contents)
    cached: dict[tuple[int, type], tuple[int, Any, bool]] = {}
    original_get_default = PropertyDescriptor._get_default

    def _get_default(self: PropertyDescriptor[Any], obj: HasProps) -> Any:
        themed = obj.themed_values()
        if themed is not None and self.name in themed:
            return original_get_default(self, obj)
        key = (id(self), obj.__class__)
        found = cached.get(key)
        if found is None:
            if self.name in obj._property_values:  # Bokeh's own error, raised as it does
                return original_get_default(self, obj)
            if self.has_unstable_default(obj):
                value = original_get_default(self, obj)
                raw = obj.__class__._overridden_defaults().get(self.name, self.property._default)
                empty = isinstance(value, _CONTAINERS) and len(value) == 0 and not callable(raw)
                cached[key] = (EMPTY, type(value), False) if empty else (OWN, None, False)
                _keep.append(self)  # its id is a key: keep it alive
                return value
            value = self.instance_default(obj)
            found = cached[key] = (STABLE, value, _immutable(value))
            _keep.append(self)
        how, value, immutable = found
        if how == STABLE:
            return value if immutable else copy.copy(value)
        if how == OWN:
            return original_get_default(self, obj)
        unstable = obj._unstable_default_values
        if self.name in unstable:
            return unstable[self.name]
        fresh = value()
        fresh._register_owner(obj, self)
        unstable[self.name] = fresh
        return fresh

    # whether a property's default is unstable: asked for every property of every new model
    # (HasProps.__init__), fixed by the property and the class
    unstable_defaults: dict[tuple[int, type], bool] = {}
    original_unstable = PropertyDescriptor.has_unstable_default

    def has_unstable_default(self: PropertyDescriptor[Any], obj: HasProps) -> bool:
        key = (id(self), obj.__class__)
        found = unstable_defaults.get(key)
        if found is None:
            found = unstable_defaults[key] = original_unstable(self, obj)
            _keep.append(self)
        return found

    _keep: list[PropertyDescriptor[Any]] = []
    _originals["_overridden_defaults"] = HasProps.__dict__["_overridden_defaults"]
    _originals["_get_default"] = original_get_default
    _originals["has_unstable_default"] = original_unstable
    PropertyDescriptor.has_unstable_default = has_unstable_default  # type: ignore[method-assign]
    HasProps._overridden_defaults = classmethod(_overridden_defaults)  # type: ignore[method-assign,assignment]
    PropertyDescriptor._get_default = _get_default  # type: ignore[method-assign]
    _installed = True
    return True


def uninstall() -> None:
    """Bokeh's own methods back (tests compare both)."""
    global _installed
    if not _installed:
        return
    from bokeh.core.has_props import HasProps
    from bokeh.core.property.descriptors import PropertyDescriptor

    HasProps._overridden_defaults = _originals["_overridden_defaults"]  # type: ignore[method-assign]
    PropertyDescriptor._get_default = _originals["_get_default"]  # type: ignore[method-assign]
    PropertyDescriptor.has_unstable_default = _originals["has_unstable_default"]  # type: ignore[method-assign]
    _installed = False

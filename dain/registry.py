"""Engines by name: one small registry shape for interpolators, upscalers, colourisers and stages.

A :class:`Registry` maps a name to a ``"module:factory"`` string. Nothing is imported until an engine
is created, so listing names (``--help``, error messages) stays fast and an engine's heavy
dependencies load only when it is used. Adding an engine is one module plus one entry in its table.

    INTERPOLATORS = Registry("interpolator", {"blend": "dain.engines.simple:BlendInterpolator"})
    INTERPOLATORS.names()                      # ['blend']
    INTERPOLATORS.create("blend", device=cpu)  # imports dain.engines.simple, calls the factory
    INTERPOLATORS.create("magic")              # UnknownNameError: unknown interpolator 'magic'; ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from dain.errors import EngineUnavailableError, UnknownNameError

__all__ = ["Registry", "DEFAULT_UNKNOWN_MESSAGE", "DEFAULT_UNAVAILABLE_MESSAGE"]

T = TypeVar("T")

# Placeholders: {kind} the registry's kind, {name} the name asked for, {choices} the names, ", "-joined.
DEFAULT_UNKNOWN_MESSAGE = "unknown {kind} {name!r}; choose one of: {choices}"
DEFAULT_UNAVAILABLE_MESSAGE = "{kind} {name!r} is not available in this version"


class Registry(Generic[T]):
    """Names mapped to lazily imported ``"module:factory"`` entries, in the order given.

    kind: what the entries are ("interpolator"), used in messages.
    entries: name -> ``"package.module:attribute"``; the attribute is a class or function that
        :meth:`create` calls with the options it is given.
    unknown_message: the one-line :class:`~dain.errors.UnknownNameError` message for a name not in
        ``entries`` (placeholders ``{kind}``, ``{name}``, ``{choices}``).
    unavailable_message: the one-line :class:`~dain.errors.EngineUnavailableError` message when the
        entry's module itself is missing from this installation (a missing *dependency* of that module
        is a bug and propagates as ``ModuleNotFoundError``).
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, str],
        *,
        unknown_message: str = DEFAULT_UNKNOWN_MESSAGE,
        unavailable_message: str = DEFAULT_UNAVAILABLE_MESSAGE,
    ) -> None:
        for name, target in entries.items():
            module_name, separator, attribute = target.partition(":")
            if not (module_name and separator and attribute):
                raise ValueError(f"{kind} {name!r}: entry {target!r} is not 'module:factory'")
        self.kind = kind
        self._entries = dict(entries)
        self._unknown_message = unknown_message
        self._unavailable_message = unavailable_message

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self._entries!r})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._entries)

    def target(self, name: str) -> str:
        """The ``"module:factory"`` entry of ``name``; :class:`UnknownNameError` for an unknown name."""
        self.check(name)
        return self._entries[name]

    def check(self, name: str) -> str:
        """``name`` itself when it is registered, else :class:`UnknownNameError` (one line, the choices)."""
        if name not in self._entries:
            raise UnknownNameError(
                self._unknown_message.format(kind=self.kind, name=name, choices=", ".join(self._entries))
            )
        return name

    def factory(self, name: str) -> Callable[..., T]:
        """Import and return the factory registered under ``name`` (nothing is called)."""
        module_name, _, attribute = self.target(name).partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            raise EngineUnavailableError(
                self._unavailable_message.format(kind=self.kind, name=name, choices=", ".join(self._entries))
            ) from None
        factory: Callable[..., T] = getattr(module, attribute)
        return factory

    def create(self, name: str, /, *args: object, **options: object) -> T:
        """Build the engine registered under ``name``: ``factory(*args, **options)``."""
        return self.factory(name)(*args, **options)

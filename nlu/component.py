"""The NLU component interface, its settings base and the registry ``config.yml`` names components in.

Every step of the pipeline listed in ``config.yml`` is a :class:`Component` with the same four
methods (principle 6, after Rasa's graph components):

* ``train(training, context)`` fits whatever the component learns from the training messages,
* ``process(message)`` adds the component's output to one :class:`~nlu.message.Message`,
* ``persist() -> dict`` returns the learned state (plain picklable values),
* ``load(state)`` restores it.

A component's ``defaults`` are merged under the user's settings from ``config.yml`` and validated by
its pydantic ``Settings`` model, so an unknown setting or a threshold outside [0, 1] stops the load.

Components register themselves with :func:`register` when their module is imported; the modules are
:mod:`nlu.normalizer`, :mod:`nlu.featurizers`, :mod:`nlu.classifier`, :mod:`nlu.extractors.regex`,
:mod:`nlu.extractors.mentions`, :mod:`nlu.linker` and :mod:`nlu.fallback`, all imported by
:mod:`nlu.pipeline` (its ``BUILTIN_COMPONENTS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from nlu.message import Message, TrainingSet


class ConfigError(ValueError):
    """A pipeline configuration that cannot be used (unknown component, bad setting, missing file)."""


class ComponentSettings(BaseModel):
    """Base of every component's settings model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Component:
    """One step of the NLU pipeline (the interface every component implements).

    Attributes:
        name: the name used in ``config.yml``.
        defaults: default settings, merged under the user's.
        settings: the validated, merged settings.
    """

    name: ClassVar[str] = "Component"
    Settings: ClassVar[type[ComponentSettings]] = ComponentSettings
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, settings: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        self.settings = self.validate_settings(settings or {})
        self.context: dict[str, Any] = dict(context or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.defaults = cls.Settings().model_dump()

    @classmethod
    def validate_settings(cls, settings: Mapping[str, Any]) -> ComponentSettings:
        """Merge ``settings`` over :attr:`defaults` and validate them.

        Raises:
            ConfigError: unknown keys or bad values, naming the component and the setting.
        """
        merged = {**cls.defaults, **{k: v for k, v in settings.items() if k != "name"}}
        try:
            return cls.Settings.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{cls.name}: {problems}") from None

    def train(self, training: TrainingSet, context: Mapping[str, Any]) -> None:
        """Learn from the training messages (processed by the earlier components). Default: nothing."""

    def process_training(self, messages: list[Message]) -> list[Message]:
        """Process the training messages after :meth:`train`; may add or drop messages."""
        for msg in messages:
            self.process(msg)
        return messages

    def process(self, message: Message) -> None:
        """Add this component's output to ``message``."""
        raise NotImplementedError

    def persist(self) -> dict[str, Any]:
        """The learned state as plain picklable values. Default: nothing learned."""
        return {}

    def load(self, state: Mapping[str, Any]) -> None:
        """Restore the state returned by :meth:`persist`."""


REGISTRY: dict[str, type[Component]] = {}


def register(cls: type[Component]) -> type[Component]:
    """Class decorator: make a component available to ``config.yml`` under its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


def component_class(name: str) -> type[Component]:
    """The registered component class called ``name``.

    Raises:
        ConfigError: no such component (the message lists the known ones).
    """
    if name not in REGISTRY:
        raise ConfigError(f"unknown NLU component {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def resolve_path(path: str | None, context: Mapping[str, Any]) -> Path | None:
    """A setting's path, relative to ``context["base_dir"]`` (the config file's folder) when relative."""
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute() and context.get("base_dir"):
        p = Path(context["base_dir"]) / p
    return p


def make_component(spec: Mapping[str, Any], context: Mapping[str, Any]) -> Component:
    """Instantiate the component a ``config.yml`` pipeline entry describes."""
    cls = component_class(str(spec.get("name")))
    return cls(spec, context)

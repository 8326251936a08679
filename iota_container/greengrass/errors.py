"""Greengrass errors: one line each, naming the bad value and the rule it breaks."""

from __future__ import annotations

from iota_container.errors import IotaError


class GreengrassError(IotaError):
    """Bad input for a Greengrass recipe, deployment or connector."""


class RecipeInvalid(GreengrassError):
    """A recipe breaks the recipe schema or a rule of the device software."""


class ConnectorParameterError(GreengrassError):
    """A Docker application deployment connector parameter breaks its documented pattern."""


class PublishError(GreengrassError):
    """The Greengrass service refused or failed a component version or deployment."""

"""Source stages (cleanup, colour): the stage protocol and registry in :mod:`restore.stages.base`."""

from restore.stages.base import SourceFrame, SourceStage, apply_stages, create_source_stages

__all__ = ["SourceFrame", "SourceStage", "apply_stages", "create_source_stages"]

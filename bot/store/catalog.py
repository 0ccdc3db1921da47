"""Which questionnaire new sessions get, and every older version sessions still run on.

A session stores the content hash of the questionnaire its municipality type answers
(`Questionnaire.for_type`), so every type's variant is registered under its own hash with the
file's source: after a restart a Landkreis session finds the Landkreis questions again.
"""

from __future__ import annotations

from pathlib import Path

from bot.app.records import utc_now
from bot.store.content import Validate, read_source, validate_here
from bot.store.storage import Storage
from flows.questionnaire import Questionnaire


class StoredVersions:
    """Every questionnaire version a session may run on, parsed once from its stored source."""

    def __init__(self, storage: Storage, validate: Validate = validate_here) -> None:
        self._storage = storage
        self._validate = validate
        self._cache: dict[str, Questionnaire] = {}

    def keep(self, questionnaire: Questionnaire) -> None:
        """Cache every municipality type's variant of this questionnaire under its hash."""
        for variant in questionnaire.variants():
            self._cache[variant.content_hash] = variant

    async def __call__(self, content_hash: str) -> Questionnaire:
        cached = self._cache.get(content_hash)
        if cached is None:
            source = await self._storage.questionnaire_source(content_hash)
            if source is None:
                raise LookupError(f"questionnaire version {content_hash} is not stored")
            self.keep(await self._validate(source, f"stored version {content_hash}"))
            cached = self._cache.get(content_hash)
            if cached is None:
                raise LookupError(f"no municipality type of the stored source has {content_hash}")
        return cached


class Catalog:
    """Holds the active questionnaire; older versions are re-read from the stored source."""

    def __init__(
        self,
        storage: Storage,
        active: Questionnaire,
        path: Path,
        validate: Validate = validate_here,
    ) -> None:
        self._storage = storage
        self._path = path
        self._validate = validate
        self.active = active
        self._versions = StoredVersions(storage, validate)
        self._versions.keep(active)

    @classmethod
    async def load(
        cls, storage: Storage, path: Path, validate: Validate = validate_here
    ) -> Catalog:
        """Load and validate the file (raises `QuestionnaireInvalid`) and remember its source.

        `validate` is where sources are validated, now and later (in this process by default;
        `python -m bot` uses a child process, see `bot.store.validation`)."""
        source = read_source(path)
        questionnaire = await validate(source, str(path))
        catalog = cls(storage, questionnaire, path, validate)
        await catalog._remember(questionnaire, source)
        return catalog

    async def reload(self) -> Questionnaire:
        """Re-read the file; on any error the running version stays active (the error is raised)."""
        source = read_source(self._path)
        questionnaire = await self._validate(source, str(self._path))
        await self._remember(questionnaire, source)
        self.active = questionnaire
        return questionnaire

    async def get(self, content_hash: str) -> Questionnaire:
        return await self._versions(content_hash)

    async def _remember(self, questionnaire: Questionnaire, source: str) -> None:
        self._versions.keep(questionnaire)
        for variant in questionnaire.variants():
            await self._storage.remember_questionnaire(
                variant.content_hash, variant.id, variant.version, source, utc_now()
            )

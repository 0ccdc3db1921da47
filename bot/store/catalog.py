"""Which questionnaire new sessions get, and every older version sessions still run on.

A session stores the content hash of the questionnaire its municipality type answers
(`Questionnaire.for_type`), so every type's variant is registered under its own hash with the
file's source: after a restart a Landkreis session finds the Landkreis questions again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.app.ports import VersionUnavailable
from bot.app.records import utc_now
from bot.store.content import Validate, read_source, validate_here
from bot.store.storage import Storage
from flows.loading import QuestionnaireInvalid
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)


class StoredVersions:
    """Every questionnaire version a session may run on, parsed once from its stored source.

    A version that cannot be read is remembered as such for the life of the process, with one
    WARNING: every press of a person on it would otherwise validate the source again (in a
    child process, about 0.4 s) only to fail the same way. A restart tries again.
    """

    def __init__(self, storage: Storage, validate: Validate = validate_here) -> None:
        self._storage = storage
        self._validate = validate
        self._cache: dict[str, Questionnaire] = {}
        self._unreadable: dict[str, str] = {}

    def keep(self, questionnaire: Questionnaire) -> None:
        """Cache every municipality type's variant of this questionnaire under its hash."""
        for variant in questionnaire.variants():
            self._cache[variant.content_hash] = variant
            self._unreadable.pop(variant.content_hash, None)

    async def __call__(self, content_hash: str) -> Questionnaire:
        cached = self._cache.get(content_hash)
        if cached is not None:
            return cached
        reason = self._unreadable.get(content_hash)
        if reason is None:
            reason = await self._read(content_hash)
            cached = self._cache.get(content_hash)
            if cached is not None:
                return cached
            self._unreadable[content_hash] = reason
            log.warning(
                "stored questionnaire version %s cannot be read (its people are offered the "
                "active version; group reports leave out or hold their checks): %s",
                content_hash,
                reason,
            )
        raise VersionUnavailable(content_hash, reason)

    async def _read(self, content_hash: str) -> str:
        """Parse the stored source into the cache; why not, if it could not be."""
        source = await self._storage.questionnaire_source(content_hash)
        if source is None:
            return "not stored"
        try:
            questionnaire = await self._validate(source, f"stored version {content_hash}")
        except QuestionnaireInvalid as error:
            count = len(error.problems)
            first = error.problems[0] if error.problems else "no details"
            return f"{count} problem(s), the first: {first}"
        self.keep(questionnaire)
        return "no municipality type of the stored source has this hash"


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
        """The version with this hash; raises `VersionUnavailable` if it cannot be read."""
        return await self._versions(content_hash)

    async def _remember(self, questionnaire: Questionnaire, source: str) -> None:
        self._versions.keep(questionnaire)
        for variant in questionnaire.variants():
            await self._storage.remember_questionnaire(
                variant.content_hash, variant.id, variant.version, source, utc_now()
            )

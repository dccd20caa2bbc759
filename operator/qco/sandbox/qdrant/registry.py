"""All collections and aliases of one server, persisted under the data directory.

Layout: `<data>/collections/<name>/{shard/,meta.json}`, `<data>/aliases.json`,
`<data>/snapshots/<name>/*.snapshot`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from qdrant_client.http import models

from qco.sandbox.qdrant import shard_files
from qco.sandbox.qdrant.collection import Collection
from qco.sandbox.qdrant.errors import bad_request, collection_not_found, conflict, not_found

_VALID_NAME = re.compile(r"^[^/\\:*?\"<>|\x00]{1,255}$")


class Registry:
    """Collections by name, aliases by alias name; alias changes are all-or-nothing."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.collections_dir = data_dir / "collections"
        self.snapshots_dir = data_dir / "snapshots"
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}
        self.optimizers_paused = False

    def _paused(self) -> bool:
        return self.optimizers_paused

    def load(self) -> None:
        """Reopen every collection and the aliases found in the data directory."""
        self.collections_dir.mkdir(parents=True, exist_ok=True)
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        for root in sorted(self.collections_dir.iterdir()):
            if (root / "meta.json").exists():
                collection = Collection(root.name, root, self._paused)
                collection.open()
                self.collections[root.name] = collection
        aliases_file = self.data_dir / "aliases.json"
        if aliases_file.exists():
            self.aliases = {
                a: c for a, c in shard_files.read_json(aliases_file).items() if c in self.collections
            }

    async def close(self) -> None:
        """Close every collection (stops rebuild workers)."""
        for collection in self.collections.values():
            await collection.close()
        self.collections.clear()

    def _save_aliases(self) -> None:
        shard_files.write_json(self.data_dir / "aliases.json", self.aliases)

    def resolve(self, name: str) -> Collection:
        """A collection by name or alias, or 404."""
        collection = self.collections.get(self.aliases.get(name, name))
        if collection is None:
            raise collection_not_found(name)
        return collection

    def exists(self, name: str) -> bool:
        """Whether a collection (not an alias) of that name exists."""
        return name in self.collections

    def create(self, name: str, request: models.CreateCollection) -> Collection:
        """Create a collection; 409 if the name is taken by a collection or an alias."""
        if not _VALID_NAME.match(name):
            raise bad_request(f"Collection name `{name}` is not valid")
        if name in self.collections:
            raise conflict(f"Collection `{name}` already exists!")
        if name in self.aliases:
            raise conflict(f"Alias with the same name `{name}` already exists!")
        collection = Collection.create(name, self.collections_dir / name, request, self._paused)
        self.collections[name] = collection
        return collection

    async def delete(self, name: str) -> bool:
        """Delete a collection and its aliases; False if it did not exist (Qdrant answers 200 false)."""
        collection = self.collections.pop(name, None)
        if collection is None:
            return False
        await collection.close()
        shutil.rmtree(collection.root, ignore_errors=True)
        self.aliases = {a: c for a, c in self.aliases.items() if c != name}
        self._save_aliases()
        return True

    def change_aliases(self, actions: list[models.AliasOperations]) -> None:
        """Apply alias actions in order on a copy; commit only if every action succeeds."""
        aliases = dict(self.aliases)
        for action in actions:
            if isinstance(action, models.CreateAliasOperation):
                target, alias = action.create_alias.collection_name, action.create_alias.alias_name
                if target not in self.collections:
                    raise collection_not_found(target)
                if alias in self.collections:
                    raise conflict(f"Collection with the same name `{alias}` already exists!")
                aliases[alias] = target  # Qdrant overwrites an existing alias silently
            elif isinstance(action, models.DeleteAliasOperation):
                alias = action.delete_alias.alias_name
                if alias not in aliases:
                    raise not_found(f"Alias {alias} does not exists!")
                del aliases[alias]
            elif isinstance(action, models.RenameAliasOperation):
                old, new = action.rename_alias.old_alias_name, action.rename_alias.new_alias_name
                if old not in aliases:
                    raise not_found(f"Alias {old} does not exists!")
                if new in self.collections:
                    raise conflict(f"Collection with the same name `{new}` already exists!")
                aliases[new] = aliases.pop(old)
            else:
                raise bad_request(f"alias action `{type(action).__name__}` is not supported")
        self.aliases = aliases
        self._save_aliases()

    def alias_list(self, collection: str | None = None) -> list[models.AliasDescription]:
        """Aliases, optionally of one collection."""
        return [
            models.AliasDescription(alias_name=alias, collection_name=target)
            for alias, target in sorted(self.aliases.items())
            if collection is None or target == collection
        ]

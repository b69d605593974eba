"""Claims: a guarded update decides who wins; the winner reads the document it claimed."""

from __future__ import annotations

from pymongo.collection import Collection


def update_then_read(collection: Collection, query: dict, update: dict, *, projection=None) -> dict | None:
    """The document matching `query` (which names its `_id`) after `update`, or None if none matched.

    What find_one_and_update(..., return_document=AFTER) does, as an update_one and a find_one by
    `_id`, both of which use the `_id` index (a findAndModify scans: engine.persistence,
    "findAndModify"). The update_one alone decides who wins a claim; the read shows the document
    right after it.
    """
    if "_id" not in query:
        raise ValueError("update_then_read needs the document's _id in its query")
    if not collection.update_one(query, update).matched_count:
        return None
    return collection.find_one({"_id": query["_id"]}, projection)

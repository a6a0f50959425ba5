-- The change feed (GET /v1/changes) lists every committed change exactly once.
--
-- An id or a timestamp taken before commit is no safe cursor: a transaction that took
-- a smaller one can commit after a reader has moved past it. So each change records the
-- id of the transaction that wrote it, and a reader only ever returns changes whose
-- transaction id is below its snapshot's xmin (`pg_snapshot_xmin(pg_current_snapshot())`,
-- less transactions running in other databases): every transaction below it has
-- finished, so no change below it can appear later. The
-- feed runs in (xid, id) order and its cursor is the last (xid, id) it returned.
--
-- The rows already recorded were all committed before this migration: they take the
-- smallest transaction id there is and keep their own order by id.
ALTER TABLE changes ADD COLUMN xid xid8 NOT NULL DEFAULT '1';
ALTER TABLE changes ALTER COLUMN xid SET DEFAULT pg_current_xact_id();

CREATE INDEX changes_feed ON changes (xid, id);
CREATE INDEX changes_feed_meeting ON changes (meeting_id, xid, id) WHERE meeting_id IS NOT NULL;

-- `GET /v1/meetings?updated_after=` (and the export's and stats' filter of that name):
-- clients that poll ask for the few meetings changed since their last poll.
CREATE INDEX meetings_updated_at ON meetings (updated_at);

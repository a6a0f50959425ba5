-- Commitments at list speed (issue 13).
--
-- The overdue list is read in the agreements list's order (the meeting's date, newest
-- first). Each agreement now carries its meeting's date, so that order is an index of
-- agreements, and one that holds only the agreements with a due date (and one that
-- holds only the open ones among them) walks straight to the overdue ones, checking
-- the due date in the index. Each agreement also carries the day of its latest event
-- (`status_on`): its status as of any later day is the one it has now, so only
-- agreements changed after a day need their history read for their status that day.
--
-- `agreement_parties` holds one narrow row per party of each agreement, keyed by party
-- and then the list's order, with what the overdue list and a country's record check
-- (kind, status, its day, due date) in the index: a page for one party is a range of
-- that key, and a country's record one index-only range per kind however many
-- agreements it holds.

ALTER TABLE agreements ADD COLUMN meeting_date date, ADD COLUMN status_on date;

UPDATE agreements a
   SET meeting_date = m.date,
       status_on = (SELECT e.occurred_on FROM agreement_events e WHERE e.agreement_id = a.id
                     ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1)
  FROM meetings m
 WHERE m.id = a.meeting_id;
UPDATE agreements SET status_on = meeting_date WHERE status_on IS NULL;

ALTER TABLE agreements ALTER COLUMN meeting_date SET NOT NULL,
                       ALTER COLUMN status_on SET NOT NULL;

-- An agreement takes its meeting's date when written, and its creation is its latest
-- event until another is recorded. (A bulk load with the trigger off writes both.)
CREATE FUNCTION agreement_takes_meeting_date() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.meeting_date := (SELECT m.date FROM meetings m WHERE m.id = NEW.meeting_id);
    NEW.status_on := coalesce(NEW.status_on, NEW.meeting_date);
    RETURN NEW;
END
$$;

CREATE TRIGGER agreements_meeting_date BEFORE INSERT ON agreements
    FOR EACH ROW EXECUTE FUNCTION agreement_takes_meeting_date();

-- A meeting's new date is its agreements' (their events follow in the same
-- transaction, `store::agreements::follow_meeting_date`).
CREATE FUNCTION agreements_follow_meeting_date() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agreements SET meeting_date = NEW.date WHERE meeting_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_agreements_date AFTER UPDATE OF date ON meetings
    FOR EACH ROW WHEN (OLD.date IS DISTINCT FROM NEW.date)
    EXECUTE FUNCTION agreements_follow_meeting_date();

-- The status and its day follow the latest event by date, ties by the order recorded.
CREATE OR REPLACE FUNCTION agreement_status_follows_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agreements a
       SET status = latest.status, status_on = latest.occurred_on
      FROM (SELECT DISTINCT ON (e.agreement_id) e.agreement_id, e.status, e.occurred_on
              FROM agreement_events e
             WHERE e.agreement_id IN (SELECT agreement_id FROM new_rows)
             ORDER BY e.agreement_id, e.occurred_on DESC, e.seq DESC) latest
     WHERE a.id = latest.agreement_id
       AND (a.status, a.status_on) IS DISTINCT FROM (latest.status, latest.occurred_on);
    RETURN NULL;
END
$$;

-- An event names a later meeting; when that meeting is deleted the event stays, naming
-- none (`ON DELETE SET NULL`), and the agreement's own meeting shows it so: it gets a new
-- version, so caches and ETags move.
CREATE FUNCTION touch_meeting_of_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meetings m SET version = version + 1, updated_at = now(), document_hash = NULL
     WHERE m.id = (SELECT a.meeting_id FROM agreements a WHERE a.id = NEW.agreement_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER agreement_events_meeting_gone AFTER UPDATE OF meeting_id ON agreement_events
    FOR EACH ROW WHEN (OLD.meeting_id IS NOT NULL AND NEW.meeting_id IS NULL)
    EXECUTE FUNCTION touch_meeting_of_event();

-- The agreements list's order, and the overdue list's: as of a day (any agreement
-- with a due date), and today (the open ones).
CREATE INDEX agreements_listed ON agreements (meeting_date, position, id);
CREATE INDEX agreements_due_listed ON agreements (meeting_date, position, id, due_by)
    WHERE due_by IS NOT NULL;
CREATE INDEX agreements_open_due_listed ON agreements (meeting_date, position, id, due_by)
    WHERE due_by IS NOT NULL AND status NOT IN ('fulfilled', 'lapsed', 'withdrawn');
DROP INDEX agreements_overdue;

-- One row per party of each agreement, as the agreement stands: a page filtered by a
-- party is a range of its key (party, then the list's order), with what the overdue
-- list and a country's record check in the index.
CREATE TABLE agreement_parties (
    party        text NOT NULL,
    meeting_date date NOT NULL,
    position     integer NOT NULL,
    -- The agreement's: named as in `agreements`, so a condition reads the same on either.
    id           uuid NOT NULL REFERENCES agreements ON DELETE CASCADE,
    -- What it would be distributed by on Citus, with the meeting's other rows.
    meeting_id   uuid NOT NULL,
    kind         text NOT NULL,
    status       text NOT NULL,
    status_on    date NOT NULL,
    due_by       date,
    PRIMARY KEY (party, meeting_date, position, id) INCLUDE (kind, status, status_on, due_by)
);
CREATE INDEX agreement_parties_agreement ON agreement_parties (id);
-- A country's record: its pledges and plans by the day they were made.
CREATE INDEX agreement_parties_record ON agreement_parties (party, kind, meeting_date)
    INCLUDE (status, status_on, due_by);

-- What `agreement_parties` holds, derived from `agreements`.
CREATE VIEW agreement_party_rows AS
SELECT p AS party, a.meeting_date, a.position, a.id, a.meeting_id, a.kind, a.status, a.status_on,
       a.due_by
  FROM agreements a, unnest(a.parties) p;

CREATE FUNCTION agreement_parties_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM agreement_parties k WHERE k.id IN (SELECT id FROM old_rows);
    END IF;
    INSERT INTO agreement_parties
    SELECT * FROM agreement_party_rows r WHERE r.id IN (SELECT id FROM new_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER agreements_parties_inserted AFTER INSERT ON agreements
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION agreement_parties_follow();
CREATE TRIGGER agreements_parties_updated AFTER UPDATE ON agreements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION agreement_parties_follow();

-- Fills `agreement_parties` from every agreement (after a bulk load).
CREATE FUNCTION fill_agreement_parties() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE agreement_parties;
    INSERT INTO agreement_parties SELECT * FROM agreement_party_rows;
$$;

SELECT fill_agreement_parties();
ANALYZE agreements, agreement_parties;

-- Commitments (issue 13): an agreement's history of status, and links between
-- agreements across meetings.
--
-- Each agreement has events, oldest first; its creation is the first, the status it
-- was created with on its meeting's date. `agreements.status` is kept equal to the
-- status of its latest event by date, ties by the order recorded (`seq`), by the
-- trigger below, so the lists filter on a column as before.
CREATE TABLE agreement_events (
    id                  uuid PRIMARY KEY,
    agreement_id        uuid NOT NULL REFERENCES agreements ON DELETE CASCADE,
    -- The order recorded: what breaks ties between events of the same day.
    seq                 bigint GENERATED ALWAYS AS IDENTITY,
    status              text NOT NULL CONSTRAINT agreement_event_status_known CHECK (status IN (
                            'proposed', 'agreed', 'signed', 'in_force', 'fulfilled', 'lapsed', 'withdrawn')),
    occurred_on         date NOT NULL,
    note                text CONSTRAINT agreement_event_note_length CHECK (char_length(note) <= 20000),
    source_url          text,
    source_title        text,
    source_publisher    text,
    source_published_on date,
    -- A later meeting at which the change happened.
    meeting_id          uuid REFERENCES meetings ON DELETE SET NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
-- The status as of a date: the last entry at or before it.
CREATE INDEX agreement_events_history ON agreement_events (agreement_id, occurred_on, seq) INCLUDE (status);
-- `status=` as of a day: the agreements that had an event of that status by then.
CREATE INDEX agreement_events_status ON agreement_events (status, occurred_on) INCLUDE (agreement_id);
CREATE INDEX agreement_events_meeting ON agreement_events (meeting_id) WHERE meeting_id IS NOT NULL;

CREATE FUNCTION agreement_status_follows_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agreements a
       SET status = latest.status
      FROM (SELECT DISTINCT ON (e.agreement_id) e.agreement_id, e.status
              FROM agreement_events e
             WHERE e.agreement_id IN (SELECT agreement_id FROM new_rows)
             ORDER BY e.agreement_id, e.occurred_on DESC, e.seq DESC) latest
     WHERE a.id = latest.agreement_id AND a.status IS DISTINCT FROM latest.status;
    RETURN NULL;
END
$$;

CREATE TRIGGER agreement_events_status
    AFTER INSERT ON agreement_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION agreement_status_follows_events();

-- The agreements already stored: their creation, as they stand.
INSERT INTO agreement_events (id, agreement_id, status, occurred_on, recorded_at)
SELECT a.id, a.id, a.status, m.date, m.created_at
  FROM agreements a JOIN meetings m ON m.id = a.meeting_id
 ORDER BY m.date, a.position;

-- `relates_to`: agreement `agreement_id` reaffirms, amends, supersedes or implements
-- agreement `target_id` (of the same or another meeting).
CREATE TABLE agreement_links (
    agreement_id uuid NOT NULL REFERENCES agreements ON DELETE CASCADE,
    position     integer NOT NULL,
    target_id    uuid NOT NULL REFERENCES agreements ON DELETE CASCADE,
    relation     text NOT NULL CONSTRAINT agreement_link_relation_known CHECK (relation IN (
                     'reaffirms', 'amends', 'supersedes', 'implements')),
    PRIMARY KEY (agreement_id, position)
);
-- `related_from`, and deleting a linked agreement.
CREATE INDEX agreement_links_target ON agreement_links (target_id);

-- A link shows on both agreements, so it changes the document of the meeting on the
-- other side too: that meeting gets a new version (and caches hear of it through
-- `meetings_notify`).
CREATE FUNCTION touch_linked_meetings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE meetings m SET version = version + 1, updated_at = now(), document_hash = NULL
         WHERE m.id IN (SELECT t.meeting_id
                          FROM new_rows l
                          JOIN agreements t ON t.id = l.target_id
                          JOIN agreements s ON s.id = l.agreement_id
                         WHERE t.meeting_id <> s.meeting_id);
    ELSE
        UPDATE meetings m SET version = version + 1, updated_at = now(), document_hash = NULL
         WHERE m.id IN (SELECT a.meeting_id
                          FROM old_rows l
                          JOIN agreements a ON a.id IN (l.target_id, l.agreement_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agreement_links_touch_inserted
    AFTER INSERT ON agreement_links REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION touch_linked_meetings();
CREATE TRIGGER agreement_links_touch_deleted
    AFTER DELETE ON agreement_links REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION touch_linked_meetings();

-- `overdue=true` without `as_of`: open agreements past their date.
CREATE INDEX agreements_overdue ON agreements (due_by)
    WHERE status NOT IN ('fulfilled', 'lapsed', 'withdrawn');
